"""What the main screen's parts share: its state, the panes, the status line and the movie detail.

``MainScreen`` (``screens.main``) is built from this base and two parts: the rating/event handlers
(``screens.main_events``) and the background actions (``screens.main_work``). Every engine call
runs in a thread worker that posts a typed message; widgets are updated only in the message
handlers, on the UI thread.
"""

from __future__ import annotations

from functools import cached_property
from typing import cast

from recsys_tui.tui.messages import MovieLoaded
from recsys_tui.tui.screens.base import EngineScreen
from recsys_tui.tui.services import EngineAPI
from recsys_tui.tui.widgets.catalogue import CataloguePane
from recsys_tui.tui.widgets.detail import MovieDetail
from recsys_tui.tui.widgets.latency import LatencyPane
from recsys_tui.tui.widgets.profile import ProfilePane
from recsys_tui.tui.widgets.recommendations import RecsPane
from recsys_tui.tui.widgets.status import StatusBar
from textual import work
from textual.widget import Widget

K = 10
"""Length of the recommendation list."""
LISTS = ("catalogue-table", "recs-table")
"""The lists whose highlighted movie the rating keys act on; letters typed there go to the search."""


class MainBase(EngineScreen):
    """State and helpers of the main screen (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.user_id: int | None = None
        self.selected: int | None = None
        self._wanted: int | None = None
        self.similar = None
        self.search_text = ""
        self.genre: str | None = None
        self.was_degraded: str | None = None
        self.frozen = False
        self.polling = False
        """A check for other sessions' events is running (``MainScreen.poll_others``)."""

    @property
    def engine(self) -> EngineAPI:
        """The open engine (the main screen is made only after the engine is open)."""
        return cast(EngineAPI, self.app.engine)

    # The panes live as long as the screen: found once (a DOM query per use cost ~0.3 ms a call,
    # several times per keypress).
    @cached_property
    def catalogue(self) -> CataloguePane:
        return self.query_one(CataloguePane)

    @cached_property
    def recs(self) -> RecsPane:
        return self.query_one(RecsPane)

    @cached_property
    def latency(self) -> LatencyPane:
        return self.query_one(LatencyPane)

    @cached_property
    def profile_pane(self) -> ProfilePane:
        return self.query_one(ProfilePane)

    @cached_property
    def detail(self) -> MovieDetail:
        return self.query_one(MovieDetail)

    @cached_property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def _list_focused(self) -> Widget | None:
        """The focused list (catalogue or recommendations), or None."""
        focused = self.focused
        return focused if focused is not None and focused.id in LISTS else None

    def refresh_status(self, busy: str | None = None, error: str | None = None) -> None:
        bar = self.status
        bar.user_id = self.user_id
        bar.engine = self.engine
        if busy is not None:
            bar.busy = busy
        if error is not None:
            bar.error = error
        bar.refresh_line()
        degraded = self.engine.degraded
        if degraded and not self.was_degraded:
            self.app.notify(f"Feature store unreachable, working from the event log: {degraded}",
                            title="degraded", severity="warning", timeout=8)
        elif self.was_degraded and not degraded:
            self.app.notify("Feature store is back and caught up from the event log.", title="recovered")
        self.was_degraded = degraded

    # -- the selected movie ----------------------------------------------------------------------

    def active_item(self) -> int | None:
        """The movie the keys act on: the cursor row of the focused list (else the catalogue's)."""
        focused = self._list_focused()
        if focused is not None and focused.id == "recs-table":
            return self.recs.selected_item()
        return self.catalogue.selected_item()

    def _need_selection(self) -> bool:
        if self.selected is None:
            self.app.notify("Select a movie first (arrows in the catalogue or the list).", severity="warning")
            return False
        return True

    def show_detail(self, row) -> None:
        """The Movie pane for ``row``; a movie in the shown list is explained (rank, score, why)."""
        recs = self.recs.recs
        rec = self.recs.find(row.item_id)
        self.detail.show(row, self.similar, rec, len(recs.items) if recs else 0,
                                         recs.model if recs else "", recs.personal if recs else True)

    def load_movie(self, item_id: int) -> None:
        """Load ``item_id``'s detail in a worker; only the newest request is shown."""
        self._wanted = item_id
        self._load_movie(item_id)

    @work(thread=True, exit_on_error=False, exclusive=True, group="movie")
    def _load_movie(self, item_id: int) -> None:
        self.post_message(MovieLoaded(self.engine.movie(item_id, self.user_id)))

    def on_movie_loaded(self, message: MovieLoaded) -> None:
        """An explicit load (select by id, or a move in the recommendation list) wins; a load
        overtaken by a newer one is dropped (thread workers can finish out of order)."""
        if message.row.item_id != self._wanted:
            return
        self.selected = message.row.item_id
        self.show_detail(message.row)
        self.finished("movie", message.row)

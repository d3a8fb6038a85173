"""The main screen: catalogue, movie detail, recommendations, latency and profile.

Every engine call runs in a thread worker that posts a typed message; widgets are only updated in
the message handlers, on the UI thread. The time from a rating key to the refreshed recommendation
pane is measured with ``call_after_refresh`` and shown beside the engine's own time.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime
from typing import ClassVar

from recsys_tui.common.fsutil import atomic_write_bytes
from recsys_tui.common.text import has_control, plain
from recsys_tui.core.results import RecList, rank_changes
from recsys_tui.tui.background import Cancelled, in_daemon
from recsys_tui.tui.messages import (
    EventRecorded,
    Exported,
    MovieHighlighted,
    MovieLoaded,
    NothingChanged,
    RecsReady,
    RetrainDone,
    RetrainProgress,
    SearchDone,
    SimilarReady,
)
from recsys_tui.tui.screens.base import EngineScreen, type_to_search
from recsys_tui.tui.widgets.catalogue import COLUMNS, CataloguePane
from recsys_tui.tui.widgets.detail import MovieDetail
from recsys_tui.tui.widgets.latency import LatencyPane
from recsys_tui.tui.widgets.profile import ProfilePane
from recsys_tui.tui.widgets.recommendations import RecsPane
from recsys_tui.tui.widgets.status import StatusBar
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input
from textual.worker import get_current_worker

K = 10
SEARCH_LIMIT = None
"""Every match: the catalogue table is virtual (renders only visible rows)."""
SIMILAR_K = 20
LISTS = ("catalogue-table", "recs-table")
"""The lists whose highlighted movie the rating keys act on; letters typed there go to the search."""
LIST_ACTIONS = ("rate", "click", "similar")
PANE_TITLES = {"catalogue": "Catalogue", "recs": "Recommendations", "detail": "Movie",
               "latency": "Latency (ms)", "profile": "Profile"}
FOCUS_MARK = "▶ "
"""Put before the title of the pane that has the focus: visible without colour (NO_COLOR)."""
POLL_S = 0.25
"""How often the screen asks the engine whether another process recorded something for the user."""


class MainScreen(EngineScreen):
    """Browse, rate and watch the list change; see the module docstring."""

    # Letters typed in a list go to the search box (``on_key``); so no bare letter is bound here.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "rate(1)", "Rate", key_display="1–5", id="main.rate_1"),
        Binding("f1", "app.help", "Help", id="main.help"),  # first in the footer (also an app key)
        Binding("2", "rate(2)", "Rate 2 stars", show=False, id="main.rate_2"),
        Binding("3", "rate(3)", "Rate 3 stars", show=False, id="main.rate_3"),
        Binding("4", "rate(4)", "Rate 4 stars", show=False, id="main.rate_4"),
        Binding("5", "rate(5)", "Rate 5 stars", show=False, id="main.rate_5"),
        Binding("slash", "focus_search", "Search", key_display="/", id="main.search"),
        Binding("escape", "leave_search", "Back to list", show=False, id="main.leave_search"),
        Binding("f3", "similar", "Similar", id="main.similar"),
        Binding("f4", "genre", "Genre", id="main.genre"),
        Binding("f5", "sort", "Sort", id="main.sort"),
        Binding("ctrl+z", "undo", "Undo", id="main.undo"),
        Binding("f2", "switch_user", "User", id="main.switch_user"),
        Binding("f6", "learning", "Learn", id="main.learning"),
        Binding("f7", "export", "Export", id="main.export"),
        Binding("ctrl+r", "retrain", "Retrain", id="main.retrain"),
    ]

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

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="top"):
            yield CataloguePane(id="catalogue")
            yield RecsPane(id="recs")
        with Horizontal(id="bottom"):
            yield MovieDetail(id="detail")
            yield LatencyPane(id="latency")
            yield ProfilePane(id="profile")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        for wid in ("detail", "profile"):  # read-only panes: Tab skips them
            self.query_one(f"#{wid}").can_focus = False
        self.query_one("#catalogue-table").focus()
        self._mark_focus()
        if self.app.user_id is not None:  # type: ignore[attr-defined]
            self.set_user(self.app.user_id)  # type: ignore[attr-defined]
        self.set_interval(POLL_S, self.poll_others)

    def on_resize(self) -> None:
        self.apply_layout()

    def apply_layout(self) -> None:
        """The preferred layout: ``auto`` follows the size; ``compact``/``wide`` force one."""
        layout = self.app.prefs.layout  # type: ignore[attr-defined]
        tall = self.size.height >= 34 if layout == "auto" else layout == "wide"
        wide = self.size.width >= 110 if layout == "auto" else layout == "wide"
        self.set_class(tall, "-tall")
        self.set_class(wide, "-wide")
        self.recs.set_two_lines(tall)

    # -- keys and focus --------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """Type-to-search: a printable key in a list (except 1–5 and /) goes to the search box."""
        type_to_search(self, event, LISTS, "search", keep="12345/")

    def _list_focused(self):
        """The focused list (catalogue or recommendations), or None."""
        focused = self.focused
        return focused if focused is not None and focused.id in LISTS else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer shows the focused pane's keys: rating, view and similar belong to the lists."""
        if action in LIST_ACTIONS:
            return self._list_focused() is not None
        if action == "leave_search":
            return self.focused is not None and self.focused.id == "search"
        return True

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._mark_focus()
        self._select_from_focus(event.widget)
        self.refresh_bindings()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.call_after_refresh(self._mark_focus)

    def _mark_focus(self) -> None:
        """The focused pane's title starts with ▶ (its heavier border is the second cue)."""
        for wid, title in PANE_TITLES.items():
            pane = self.query_one(f"#{wid}")
            base = str(pane.border_title or title).removeprefix(FOCUS_MARK)  # keeps what a pane adds
            pane.border_title = f"{FOCUS_MARK}{base}" if pane.has_focus_within else base

    def action_leave_search(self) -> None:
        """Escape in the search box: back to the list it filters."""
        if self.focused is not None and self.focused.id == "search":
            self.catalogue.table.focus()

    @property
    def engine(self):
        return self.app.engine  # type: ignore[attr-defined]

    @property
    def catalogue(self) -> CataloguePane:
        return self.query_one(CataloguePane)

    @property
    def recs(self) -> RecsPane:
        return self.query_one(RecsPane)

    def refresh_status(self, busy: str | None = None, error: str | None = None) -> None:
        bar = self.query_one(StatusBar)
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

    # -- user ------------------------------------------------------------------------------------

    def set_user(self, user_id: int) -> None:
        """Show ``user_id``'s list, profile and ratings (called on log-in and user switch)."""
        self.user_id = user_id
        self.similar = None
        self.refresh_status(error="")
        self.load_user(user_id)
        self.run_search(self.search_text, self.genre)

    @work(thread=True, exit_on_error=False, exclusive=True, group="user")
    def load_user(self, user_id: int) -> None:
        recs = self.engine.recommend(user_id, K)
        self.post_message(RecsReady(recs, self.engine.profile(user_id), "log-in"))

    def on_recs_ready(self, message: RecsReady) -> None:
        if message.recs.user_id != self.user_id:
            return
        self.recs.show(message.recs, None, message.reason)
        self.query_one(ProfilePane).show(message.profile, self.app.user_summary(self.user_id))
        self.query_one(LatencyPane).show_timings(message.recs.timings, "recommend")
        self.app.last_recs = message.recs  # type: ignore[attr-defined]
        self.refresh_status(busy="")  # e.g. "building hnsw index" is over
        if not self.frozen:
            self.frozen = True
            self.call_after_refresh(self.app.freeze_heap)  # type: ignore[attr-defined]
        self.app.settle("recs", message.recs)  # type: ignore[attr-defined]

    def poll_others(self) -> None:
        if self.user_id is not None:
            self.check_others(self.user_id)

    @work(thread=True, exit_on_error=False, exclusive=True, group="poll")
    def check_others(self, user_id: int) -> None:
        """Show what another session, host or CLI call recorded for the user (no keypress)."""
        if self.engine.poll(user_id):
            recs = self.engine.recommend(user_id, K)
            self.post_message(RecsReady(recs, self.engine.profile(user_id), "another session"))

    # -- catalogue -------------------------------------------------------------------------------

    def set_search(self, text: str, genre: str | None = None) -> None:
        """Put ``text`` in the search box and search now (the pilot's ``search``); ``genre`` None
        keeps the current genre filter, "" clears it."""
        self.search_text = text
        self.genre = (genre or None) if genre is not None else self.genre
        self.query_one("#search", Input).value = text
        self.run_search(text, self.genre)

    def on_input_changed(self, event: Input.Changed) -> None:
        if has_control(event.value):  # pasted control characters are shown as placeholders
            event.input.value = plain(event.value)
            return
        if event.input.id == "search" and event.value != self.search_text:
            self.search_text = event.value
            self.run_search(event.value, self.genre)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            self.catalogue.table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a movie in a list: a view (click) of that movie."""
        self._entered(event, event.data_table)

    def on_movie_table_selected(self, event) -> None:
        """Enter in a virtual movie table (``MovieTable.Selected``): as above."""
        self._entered(event, event.table)

    def on_recs_table_selected(self, event) -> None:
        """Enter in the recommendation table (``RecsTable.Selected``): as above."""
        self._entered(event, event.table)

    def _entered(self, event, table) -> None:
        if table.id in LISTS:
            event.stop()
            self.action_click()

    @work(thread=True, exit_on_error=False, exclusive=True, group="search")
    def run_search(self, text: str, genre: str | None) -> None:
        rows = self.engine.search(text, genre, self.user_id, SEARCH_LIMIT)
        self.post_message(SearchDone(text, genre, rows))

    def on_search_done(self, message: SearchDone) -> None:
        if message.text != self.search_text or message.genre != self.genre:
            return  # an older query; a newer one is on its way
        self.similar = None
        label = f"“{plain(message.text)}”" if message.text else "all titles"
        if message.genre:
            label += f" in {plain(message.genre)}"
        self.catalogue.show_rows(message.rows, label)
        self.app.settle("search", message.rows)  # type: ignore[attr-defined]

    def active_item(self) -> int | None:
        """The movie the keys act on: the cursor row of the focused list (else the catalogue's)."""
        focused = self._list_focused()
        if focused is not None and focused.id == "recs-table":
            return self.recs.selected_item()
        return self.catalogue.selected_item()

    def on_movie_highlighted(self, message: MovieHighlighted) -> None:
        if message.item_id != self.active_item():
            return  # a list the person is not in moved (e.g. refilled): the selection stays
        self.selected = message.item_id
        if message.row is not None:
            self.show_detail(message.row)
        else:
            self.load_movie(message.item_id)

    def show_detail(self, row) -> None:
        """The Movie pane for ``row``; a movie in the shown list is explained (rank, score, why)."""
        recs = self.recs.recs
        rec = self.recs.find(row.item_id)
        self.query_one(MovieDetail).show(row, self.similar, rec, len(recs.items) if recs else 0,
                                         recs.model if recs else "", recs.personal if recs else True)

    def select_item(self, item_id: int) -> None:
        """Select a movie by id as a person would: focus the catalogue and move its cursor there
        (a movie not in the table is selected for the detail pane only)."""
        self.selected = item_id
        if self.catalogue.select(item_id):
            self.catalogue.table.focus()
        self.load_movie(item_id)

    def select_recommendation(self, rank: int) -> int:
        """Focus the recommendation list and put its cursor on ``rank`` (1-based); the item id."""
        recs = self.recs.recs
        if recs is None or not 1 <= rank <= len(recs.items):
            raise IndexError(f"no recommendation at rank {rank}")
        table = self.recs.query_one("#recs-table")
        table.focus()
        table.move_cursor(row=rank - 1, animate=False)
        item = recs.items[rank - 1].item_id
        self.selected = item
        self.load_movie(item)
        return item

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
        self.app.settle("movie", message.row)  # type: ignore[attr-defined]

    def _select_from_focus(self, widget) -> None:
        """Focusing a list selects the movie its cursor shows, so 1–5, Enter and F3 act on what you see."""
        wid = getattr(widget, "id", None)
        if wid == "recs-table":
            item = self.recs.selected_item()
        elif wid == "catalogue-table":
            item = self.catalogue.selected_item()
        else:
            return
        if item is not None:  # also when it is already selected: a recommendation gets its "why"
            self.selected = item
            self.load_movie(item)

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_sort(self) -> None:
        keys = [key for key, _, _ in COLUMNS]
        current = self.catalogue.sort_column
        self.catalogue.sort_by(keys[(keys.index(current) + 1) % len(keys)] if current in keys else keys[0])

    def action_genre(self) -> None:
        from recsys_tui.tui.screens.pickers import GenrePicker

        genres = sorted({g for m in self.engine.catalogue.movies.values() for g in m.genres})

        def chosen(genre: str | None) -> None:
            if genre is None:
                return
            self.genre = None if genre == "(all genres)" else genre
            self.run_search(self.search_text, self.genre)

        if not self.app._exit:
            self.app.push_screen(GenrePicker(["(all genres)", *genres], self.genre), chosen)

    def action_similar(self) -> None:
        if self._need_selection():
            self.find_similar(self.selected)

    @work(thread=True, exit_on_error=False, exclusive=True, group="similar")
    def find_similar(self, item_id: int) -> None:
        similar = self.engine.similar(item_id, SIMILAR_K)
        rows = [self.engine.movie(s.item_id, self.user_id) for s in similar.items]
        self.post_message(SimilarReady(similar, rows, self.engine.catalogue.title(item_id)))

    def on_similar_ready(self, message: SimilarReady) -> None:
        """The similar movies fill the catalogue and it takes the focus: the highlighted (most
        similar) movie is the selected one, so the next key acts on what is visibly selected."""
        self.catalogue.show_rows(message.rows, f"more like {plain(message.title)} (/ to search)")
        self.similar = message.similar
        self.catalogue.table.focus()
        item = self.catalogue.selected_item()
        if item is not None:
            self.selected = item
            self.load_movie(item)
        self.query_one(LatencyPane).show_timings(message.similar.timings, "more like this")
        self.app.settle("similar", message.similar)  # type: ignore[attr-defined]

    # -- interactions (the hot path) -------------------------------------------------------------

    def _need_selection(self) -> bool:
        if self.selected is None:
            self.app.notify("Select a movie first (arrows in the catalogue or the list).", severity="warning")
            return False
        return True

    def action_rate(self, stars: int) -> None:
        t0 = time.perf_counter_ns()
        if self._need_selection():
            self.rate(self.user_id, self.selected, stars, t0)

    def action_click(self) -> None:
        t0 = time.perf_counter_ns()
        if self._need_selection():
            self.record(self.user_id, self.selected, "click", None, t0)

    def action_undo(self) -> None:
        self.undo(self.user_id, time.perf_counter_ns())

    # Not exclusive: every interaction must be recorded (the engine's lock keeps them in order).
    @work(thread=True, exit_on_error=False, group="record")
    def record(self, user_id: int, item_id: int, kind: str, rating: int | None, t0: int) -> None:
        result = self.engine.record(user_id, item_id, kind, rating, k=K, with_view=True)
        self.post_message(EventRecorded(result, result.profile, result.movie, t0))

    @work(thread=True, exit_on_error=False, group="record")
    def rate(self, user_id: int, item_id: int, stars: int, t0: int) -> None:
        """The same rating again changes nothing; a different one replaces it (one event)."""
        previous, result = self.engine.rate(user_id, item_id, stars, k=K, with_view=True)
        if result is None:
            title = self.engine.catalogue.title(item_id)
            self.post_message(NothingChanged(f"Already rated {title} ★{stars:g}: nothing changed."))
            return
        self.post_message(EventRecorded(result, result.profile, result.movie, t0, previous))

    @work(thread=True, exit_on_error=False, group="record")
    def undo(self, user_id: int, t0: int) -> None:
        if not self.engine.history(user_id):
            self.post_message(NothingChanged("Nothing to undo: no rating or click logged yet."))
            return
        result = self.engine.undo_last(user_id, k=K, with_view=True)
        self.post_message(EventRecorded(result, result.profile, result.movie, t0))

    def on_event_recorded(self, message: EventRecorded) -> None:
        """Update the recommendation pane first; the other panes follow once it is on screen."""
        r = message.result
        if r.user_id != self.user_id:
            return
        what = {"rating": f"rated ★{r.rating:g}" if r.rating else "rated", "undo": "undo"}.get(r.kind, r.kind)
        if r.kind == "rating" and message.previous is not None:
            what = f"re-rated ★{message.previous:g}→★{r.rating:g}"
        self.recs.show(r.after, r.changes, what)
        self.app.last_result = r  # type: ignore[attr-defined]
        self.app.last_recs = r.after  # type: ignore[attr-defined]
        self.recs.call_after_refresh(self._measured, message, f"{what}: {message.movie.title}")

    def on_nothing_changed(self, message: NothingChanged) -> None:
        """A benign no-op (same rating again, nothing to undo): a quiet notice, never an error."""
        self.app.notify(message.text, title="no change", timeout=3)
        self.refresh_status(busy="", error="")
        self.app.settle("event", None)  # type: ignore[attr-defined]

    def _measured(self, message: EventRecorded, what: str) -> None:
        """After the recommendation pane has been refreshed: keypress → pane time is known."""
        app_ms = (time.perf_counter_ns() - message.t0_ns) / 1e6
        r = message.result
        engine_ms = r.timings.total_ms
        self.app.render_ms.append(app_ms)  # type: ignore[attr-defined]
        self.app.engine_ms.append(engine_ms)  # type: ignore[attr-defined]
        latency = self.query_one(LatencyPane)
        latency.show_timings(r.timings, what)
        latency.add_sample(engine_ms, app_ms)
        self.query_one(ProfilePane).show(message.profile, self.app.user_summary(self.user_id))
        self.catalogue.update_row(message.movie)
        if self.selected == message.movie.item_id:
            self.show_detail(message.movie)
        elif self.selected is not None and self.selected in self.catalogue.rows:
            self.show_detail(self.catalogue.rows[self.selected])  # its explanation may have changed
        self.refresh_status(error="")  # a success clears the last error from the status line
        self.app.idle_gc()  # type: ignore[attr-defined]
        self.app.settle("event", r)  # type: ignore[attr-defined]

    # -- background work -------------------------------------------------------------------------

    def action_switch_user(self) -> None:
        from recsys_tui.tui.screens.login import LoginScreen

        if not self.app._exit:
            self.app.push_screen(LoginScreen(switching=True))

    def action_learning(self) -> None:
        from recsys_tui.tui.screens.learning import LearningScreen

        if not self.app._exit:
            self.app.push_screen(LearningScreen())

    def action_retrain(self) -> None:
        """ctrl+r: retrain the current model, after a confirmation (it takes seconds and publishes)."""
        from recsys_tui.tui.screens.pickers import Confirm

        if self.app._exit or self._model_busy():
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.start_retrain(None)

        self.app.push_screen(Confirm("Retrain the current model on the data set and every event logged "
                                     "here, publish it and switch to it? It runs in the background.",
                                     yes="Retrain"), answered)

    def start_retrain(self, model: str | None) -> None:
        """Retrain ``model`` (None: the current one) in the background; a model chosen in the
        palette stays in this session unless saved (palette: "Save model as default")."""
        if self.app.services.retrain is None:  # type: ignore[attr-defined]
            self.app.notify("Retraining is not available here.", severity="warning")
            return
        if self.user_id is None or self._model_busy():
            return
        self.refresh_status(busy=f"retraining {model or 'current model'}: starting")
        self.retrain(model, self.user_id)

    def _model_busy(self) -> bool:
        if any(w.group in ("retrain", "index") and not w.is_finished for w in self.app.workers):
            self.app.notify("A retrain is already running; the new model swaps in when it is ready.",
                            severity="warning")
            return True
        return False

    @work(exit_on_error=False, exclusive=True, group="retrain")
    async def retrain(self, model: str | None, user: int) -> None:
        """Runs in a daemon thread (``tui.background``): quitting never waits for it, and it checks
        the stop flag before every stage, so it never publishes after the app has gone."""
        worker = get_current_worker()
        stop = self.app.stop  # type: ignore[attr-defined]

        def step(stage: str) -> None:
            if stop.is_set or worker.is_cancelled:
                raise Cancelled
            self.post_message(RetrainProgress(stage))

        def run() -> None:
            version = self.app.services.retrain(step, model, model is None)  # type: ignore[attr-defined]
            step(f"loading {version}")
            self._swap_in(version, user, model)

        await in_daemon(stop, "retrain", run)

    def action_load_latest(self) -> None:
        """Load the newest published version (e.g. from `recsys-tui train` in another terminal)."""
        if self.user_id is None or self._model_busy():
            return
        self.refresh_status(busy="loading the newest published model")
        self.load_latest(self.user_id)

    @work(exit_on_error=False, exclusive=True, group="retrain")
    async def load_latest(self, user: int) -> None:
        await in_daemon(self.app.stop, "reload", self._swap_in, None, user, None)  # type: ignore[attr-defined]

    def _swap_in(self, version: str | None, user: int, model: str | None) -> None:
        """(thread) Load ``version`` (None: the current one), re-fold users, post the new list."""
        version, refolded = self.engine.reload(version)
        recs = self.engine.recommend(user, K)
        self.post_message(RetrainDone(version, refolded, recs, self.engine.profile(user), model))

    def on_retrain_progress(self, message: RetrainProgress) -> None:
        self.refresh_status(busy=f"retraining: {message.stage}…")

    def on_retrain_done(self, message: RetrainDone) -> None:
        old: RecList | None = self.recs.recs
        if message.recs.user_id == self.user_id:
            self.recs.show(message.recs, rank_changes(old, message.recs), f"retrained {message.version}")
            self.query_one(ProfilePane).show(message.profile, self.app.user_summary(self.user_id))
            self.app.last_recs = message.recs  # type: ignore[attr-defined]
        self.refresh_status(busy="")
        session = ""
        default = self.app.services.default_version()  # type: ignore[attr-defined]
        if message.model is not None and self.engine.version != default:
            self.app.session_model = message.version  # type: ignore[attr-defined]
            session = " For this session only: palette → “Save model as default” keeps it."
        self.app.notify(f"Model {message.version} is live ({message.refolded} users re-folded).{session}",
                        title="retrained")
        self.app.settle("retrain", message.version)  # type: ignore[attr-defined]

    def change_index(self, kind: str) -> None:
        if self._model_busy():
            return
        self.refresh_status(busy=f"building {kind} index")
        self.set_index(kind)

    @work(exit_on_error=False, exclusive=True, group="index")
    async def set_index(self, kind: str) -> None:
        def run() -> None:
            self.engine.set_index(kind)
            recs = self.engine.recommend(self.user_id, K)
            self.post_message(RecsReady(recs, self.engine.profile(self.user_id), f"index {kind}"))

        await in_daemon(self.app.stop, "index", run)  # type: ignore[attr-defined]

    def action_export(self) -> None:
        self.export()

    @work(thread=True, exit_on_error=False, exclusive=True, group="export")
    def export(self) -> None:
        user = self.user_id
        recs = self.engine.recommend(user, K)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["user_id", "rank", "item_id", "title", "score", "reason", "model_version"])
        for r in recs.items:
            writer.writerow([user, r.rank, r.item_id, r.title, f"{r.score:.6f}", r.reason,
                             recs.model_version])
        reports = self.engine.home.reports
        reports.mkdir(parents=True, exist_ok=True)
        path = reports / f"recs-user{user}-{datetime.now().strftime('%Y%m%dT%H%M%S%f')}.csv"
        atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
        self.post_message(Exported(str(path), len(recs.items)))

    def on_exported(self, message: Exported) -> None:
        self.app.notify(f"Wrote {message.rows} recommendations to {message.path}", title="exported")
        self.app.settle("export", message.path)  # type: ignore[attr-defined]

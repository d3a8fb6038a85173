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
from recsys_tui.core.results import RecList, rank_changes
from recsys_tui.tui.messages import (
    EventRecorded,
    Exported,
    MovieHighlighted,
    MovieLoaded,
    RecsReady,
    RetrainDone,
    RetrainProgress,
    SearchDone,
    SimilarReady,
)
from recsys_tui.tui.screens.base import EngineScreen
from recsys_tui.tui.widgets.catalogue import COLUMNS, CataloguePane
from recsys_tui.tui.widgets.detail import MovieDetail
from recsys_tui.tui.widgets.latency import LatencyPane
from recsys_tui.tui.widgets.profile import ProfilePane
from recsys_tui.tui.widgets.recommendations import RecsPane
from recsys_tui.tui.widgets.status import StatusBar
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Input

K = 10
SEARCH_LIMIT = 200
SIMILAR_K = 20
POLL_S = 0.25
"""How often the screen asks the engine whether another process recorded something for the user."""


class MainScreen(EngineScreen):
    """Browse, rate and watch the list change; see the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "rate(1)", "Rate", key_display="1–5", id="main.rate_1"),
        Binding("2", "rate(2)", "Rate 2 stars", show=False, id="main.rate_2"),
        Binding("3", "rate(3)", "Rate 3 stars", show=False, id="main.rate_3"),
        Binding("4", "rate(4)", "Rate 4 stars", show=False, id="main.rate_4"),
        Binding("5", "rate(5)", "Rate 5 stars", show=False, id="main.rate_5"),
        Binding("c", "click", "Click (view)", show=False, id="main.click"),
        Binding("slash", "focus_search", "Search", key_display="/", id="main.search"),
        Binding("g", "genre", "Genre", id="main.genre"),
        Binding("m", "similar", "Similar", id="main.similar"),
        Binding("x", "undo", "Undo", id="main.undo"),
        Binding("u", "switch_user", "User", id="main.switch_user"),
        Binding("r", "retrain", "Retrain", id="main.retrain"),
        Binding("l", "learning", "Learning view", show=False, id="main.learning"),
        Binding("s", "sort", "Sort", show=False, id="main.sort"),
        Binding("e", "export", "Export list to CSV", show=False, id="main.export"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.user_id: int | None = None
        self.selected: int | None = None
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
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        titles = {"catalogue": "Catalogue", "recs": "Recommendations", "detail": "Movie",
                  "latency": "Latency (ms)", "profile": "Profile"}
        for wid, title in titles.items():
            self.query_one(f"#{wid}").border_title = title
        self.query_one("#catalogue-table").focus()
        if self.app.user_id is not None:  # type: ignore[attr-defined]
            self.set_user(self.app.user_id)  # type: ignore[attr-defined]
        self.set_interval(POLL_S, self.poll_others)

    def on_resize(self) -> None:
        self.set_class(self.size.height >= 34, "-tall")
        self.set_class(self.size.width >= 110, "-wide")

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
        self.recs.show(message.recs, None, f"· {message.reason}")
        self.query_one(ProfilePane).show(message.profile, self.app.user_summary(self.user_id))
        self.query_one(LatencyPane).show_timings(message.recs.timings, "recommend")
        self.app.last_recs = message.recs  # type: ignore[attr-defined]
        self.refresh_status()
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
        if event.input.id == "search" and event.value != self.search_text:
            self.search_text = event.value
            self.run_search(event.value, self.genre)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            self.catalogue.table.focus()

    @work(thread=True, exit_on_error=False, exclusive=True, group="search")
    def run_search(self, text: str, genre: str | None) -> None:
        rows = self.engine.search(text, genre, self.user_id, SEARCH_LIMIT)
        self.post_message(SearchDone(text, genre, rows))

    def on_search_done(self, message: SearchDone) -> None:
        if message.text != self.search_text or message.genre != self.genre:
            return  # an older query; a newer one is on its way
        self.similar = None
        label = f"“{message.text}”" if message.text else "all titles"
        if message.genre:
            label += f" in {message.genre}"
        self.catalogue.show_rows(message.rows, label)
        self.app.settle("search", message.rows)  # type: ignore[attr-defined]

    def on_movie_highlighted(self, message: MovieHighlighted) -> None:
        self.selected = message.item_id
        if message.row is not None:
            self.query_one(MovieDetail).show(message.row, self.similar)
        else:
            self.load_movie(message.item_id)

    def select_item(self, item_id: int) -> None:
        """Select a movie by id (in the table when it is there) and load its detail."""
        self.selected = item_id
        self.catalogue.select(item_id)
        self.load_movie(item_id)

    @work(thread=True, exit_on_error=False, exclusive=True, group="movie")
    def load_movie(self, item_id: int) -> None:
        self.post_message(MovieLoaded(self.engine.movie(item_id, self.user_id)))

    def on_movie_loaded(self, message: MovieLoaded) -> None:
        """An explicit load (select by id, or a move in the recommendation list) wins."""
        self.selected = message.row.item_id
        self.query_one(MovieDetail).show(message.row, self.similar)
        self.app.settle("movie", message.row)  # type: ignore[attr-defined]

    def on_descendant_focus(self, event) -> None:
        """Focusing a list selects the movie its cursor shows, so 1–5, c and m act on what you see."""
        wid = getattr(event.widget, "id", None)
        if wid == "recs-table":
            item = self.recs.selected_item()
        elif wid == "catalogue-table":
            item = self.catalogue.selected_item()
        else:
            return
        if item is not None and item != self.selected:
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
        self.catalogue.show_rows(message.rows, f"more like {message.title} (/ to search)")
        self.similar = message.similar
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
            self.record(self.user_id, self.selected, "rating", stars, t0)

    def action_click(self) -> None:
        t0 = time.perf_counter_ns()
        if self._need_selection():
            self.record(self.user_id, self.selected, "click", None, t0)

    def action_undo(self) -> None:
        self.undo(self.user_id, time.perf_counter_ns())

    # Not exclusive: every interaction must be recorded (the engine's lock keeps them in order).
    @work(thread=True, exit_on_error=False, group="record")
    def record(self, user_id: int, item_id: int, kind: str, rating: int | None, t0: int) -> None:
        result = self.engine.record(user_id, item_id, kind, rating, k=K)
        self.post_message(EventRecorded(result, self.engine.profile(result.user_id),
                                        self.engine.movie(item_id, result.user_id), t0))

    @work(thread=True, exit_on_error=False, group="record")
    def undo(self, user_id: int, t0: int) -> None:
        result = self.engine.undo_last(user_id, k=K)
        self.post_message(EventRecorded(result, self.engine.profile(result.user_id),
                                        self.engine.movie(result.item_id, result.user_id), t0))

    def on_event_recorded(self, message: EventRecorded) -> None:
        """Update the recommendation pane first; the other panes follow once it is on screen."""
        r = message.result
        if r.user_id != self.user_id:
            return
        what = {"rating": f"rated ★{r.rating:g}" if r.rating else "rated", "undo": "undo"}.get(r.kind, r.kind)
        self.recs.show(r.after, r.changes, f"· {what}")
        self.app.last_result = r  # type: ignore[attr-defined]
        self.app.last_recs = r.after  # type: ignore[attr-defined]
        self.recs.call_after_refresh(self._measured, message, f"{what}: {message.movie.title}")

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
            self.query_one(MovieDetail).show(message.movie, self.similar)
        self.refresh_status(error="")  # a success clears the last error from the status line
        self.app.idle_gc()  # type: ignore[attr-defined]
        self.app.settle("event", r)  # type: ignore[attr-defined]

    # -- background work -------------------------------------------------------------------------

    def action_switch_user(self) -> None:
        from recsys_tui.tui.screens.login import LoginScreen

        self.app.push_screen(LoginScreen(switching=True))

    def action_learning(self) -> None:
        from recsys_tui.tui.screens.learning import LearningScreen

        self.app.push_screen(LearningScreen())

    def action_retrain(self, model: str | None = None) -> None:
        if self.app.services.retrain is None:  # type: ignore[attr-defined]
            self.app.notify("Retraining is not available here.", severity="warning")
            return
        if self.user_id is None or self._model_busy():
            return
        self.refresh_status(busy=f"retraining {model or 'current model'}: starting")
        self.retrain(model, self.user_id)

    def _model_busy(self) -> bool:
        if any(w.group == "retrain" and not w.is_finished for w in self.app.workers):
            self.app.notify("A retrain is already running; the new model swaps in when it is ready.",
                            severity="warning")
            return True
        return False

    @work(thread=True, exit_on_error=False, exclusive=True, group="retrain")
    def retrain(self, model: str | None, user: int) -> None:
        def step(stage: str) -> None:
            self.post_message(RetrainProgress(stage))

        version = self.app.services.retrain(step, model)  # type: ignore[attr-defined]
        step(f"loading {version}")
        self._swap_in(version, user)

    def action_load_latest(self) -> None:
        """Load the newest published version (e.g. from `recsys-tui train` in another terminal)."""
        if self.user_id is None or self._model_busy():
            return
        self.refresh_status(busy="loading the newest published model")
        self.load_latest(self.user_id)

    @work(thread=True, exit_on_error=False, exclusive=True, group="retrain")
    def load_latest(self, user: int) -> None:
        self._swap_in(None, user)

    def _swap_in(self, version: str | None, user: int) -> None:
        """(worker) Load ``version`` (None: the current one), re-fold users, post the new list."""
        version, refolded = self.engine.reload(version)
        recs = self.engine.recommend(user, K)
        self.post_message(RetrainDone(version, refolded, recs, self.engine.profile(user)))

    def on_retrain_progress(self, message: RetrainProgress) -> None:
        self.refresh_status(busy=f"retraining: {message.stage}…")

    def on_retrain_done(self, message: RetrainDone) -> None:
        old: RecList | None = self.recs.recs
        if message.recs.user_id == self.user_id:
            self.recs.show(message.recs, rank_changes(old, message.recs), f"· retrained {message.version}")
            self.query_one(ProfilePane).show(message.profile, self.app.user_summary(self.user_id))
            self.app.last_recs = message.recs  # type: ignore[attr-defined]
        self.refresh_status(busy="")
        self.app.notify(f"Model {message.version} is live ({message.refolded} users re-folded).",
                        title="retrained")
        self.app.settle("retrain", message.version)  # type: ignore[attr-defined]

    def change_index(self, kind: str) -> None:
        self.refresh_status(busy=f"building {kind} index")
        self.set_index(kind)

    @work(thread=True, exit_on_error=False, exclusive=True, group="index")
    def set_index(self, kind: str) -> None:
        self.engine.set_index(kind)
        recs = self.engine.recommend(self.user_id, K)
        self.post_message(RecsReady(recs, self.engine.profile(self.user_id), f"index {kind}"))

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

"""The main screen's hot path: rating, view (click) and undo keys, and what follows each event.

A key starts a thread worker that makes one engine call; its ``EventRecorded`` message updates the
recommendation pane first, and the other panes once that pane is on screen, which is also when
the keypress → pane time is taken.
"""

from __future__ import annotations

import time

from recsys_tui.tui.messages import EventRecorded, MovieHighlighted, NothingChanged
from recsys_tui.tui.screens.main_base import K, MainBase
from textual import work

HALF = 0.5


def nudged(current: float | None, step: int) -> float | None:
    """``current`` moved by half a star up (``step`` 1) or down (-1), kept within 0.5–5; None
    when there is nothing to move (not rated yet)."""
    if current is None:
        return None
    return min(5.0, max(HALF, current + HALF * step))


class EventKeys(MainBase):
    """Rating (whole stars, and half stars where the data set has them), view and undo."""

    def action_rate(self, stars: float) -> None:
        t0 = time.perf_counter_ns()
        if self._need_selection():
            self.rate(self.user_id, self.selected, stars, t0)

    def action_nudge(self, step: int) -> None:
        """+ / -: the highlighted movie's rating half a star up or down (half-star data sets)."""
        t0 = time.perf_counter_ns()
        if self._need_selection():
            self.nudge(self.user_id, self.selected, step, t0)

    def action_click(self) -> None:
        t0 = time.perf_counter_ns()
        if self._need_selection():
            self.record(self.user_id, self.selected, "click", None, t0)

    def action_undo(self) -> None:
        self.undo(self.user_id, time.perf_counter_ns())

    # Not exclusive: every interaction must be recorded (the engine's lock keeps them in order).
    @work(thread=True, exit_on_error=False, group="record")
    def record(self, user_id: int, item_id: int, kind: str, rating: float | None, t0: int) -> None:
        result = self.engine.record(user_id, item_id, kind, rating, k=K, with_view=True)
        self.post_message(EventRecorded(result, result.profile, result.movie, t0))

    @work(thread=True, exit_on_error=False, group="record")
    def rate(self, user_id: int, item_id: int, stars: float, t0: int) -> None:
        self._rate(user_id, item_id, stars, t0)

    @work(thread=True, exit_on_error=False, group="record")
    def nudge(self, user_id: int, item_id: int, step: int, t0: int) -> None:
        """(thread) The rating the movie has now, half a star up or down, as one re-rating."""
        title = self.engine.catalogue.title(item_id)
        current = self.engine.movie(item_id, user_id).your_rating
        target = nudged(current, step)
        if target is None:
            self.post_message(NothingChanged(f"{title} is not rated yet: rate it with 1–5 first, then "
                                             "+ or - moves it by half a star."))
        elif target == current:
            self.post_message(NothingChanged(f"{title} is already at ★{current:g}, the end of the scale."))
        else:
            self._rate(user_id, item_id, target, t0)

    def _rate(self, user_id: int, item_id: int, stars: float, t0: int) -> None:
        """(thread) The same rating again changes nothing; a different one replaces it (one event)."""
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
        self.app.last_result = r
        self.app.last_recs = r.after
        focused = self._list_focused()
        if focused is not None and focused.id == "recs-table":
            # The list under the keys was refilled (the rated movie usually leaves it): the movie
            # the cursor now shows is the one the keys act on, so it becomes the selection.
            item = self.recs.selected_item()
            if item is not None and item != self.selected:
                self.post_message(MovieHighlighted(item))
        self.recs.call_after_refresh(self._measured, message, f"{what}: {message.movie.title}")

    def on_nothing_changed(self, message: NothingChanged) -> None:
        """A benign no-op (same rating again, nothing to undo): a quiet notice, never an error."""
        self.app.notify(message.text, title="no change", timeout=3)
        self.refresh_status(busy="", error="")
        self.finished("event", None)

    def _measured(self, message: EventRecorded, what: str) -> None:
        """After the recommendation pane has been refreshed: keypress → pane time is known."""
        app_ms = (time.perf_counter_ns() - message.t0_ns) / 1e6
        r = message.result
        engine_ms = r.timings.total_ms
        self.app.render_ms.append(app_ms)
        self.app.engine_ms.append(engine_ms)
        latency = self.latency
        latency.show_timings(r.timings, what, session=False)
        latency.add_sample(engine_ms, app_ms)
        self.profile_pane.show(message.profile, self.app.user_summary(self.user_id))
        self.catalogue.update_row(message.movie)
        if self.selected == message.movie.item_id:
            self.show_detail(message.movie)
        elif self.selected is not None and self.selected in self.catalogue.rows:
            self.show_detail(self.catalogue.rows[self.selected])  # its explanation may have changed
        self.refresh_status(error="")  # a success clears the last error from the status line
        self.app.idle_gc()
        self.finished("event", r)

"""The main screen: catalogue, movie detail, recommendations, latency and profile.

This module holds the layout, keys and focus, the user, and the catalogue (search, selection,
more like this). The rating/event handlers are in ``screens.main_events``, the retrain, index and
export actions in ``screens.main_work``, the shared state and helpers in ``screens.main_base``.
The time from a rating key to the refreshed recommendation pane is measured with
``call_after_refresh`` and shown beside the engine's own time.
"""

from __future__ import annotations

from typing import ClassVar

from recsys_tui.common.text import has_control, plain
from recsys_tui.tui.footer_fit import fit_footer
from recsys_tui.tui.messages import MovieHighlighted, RecsReady, SearchDone, SimilarReady
from recsys_tui.tui.screens.base import type_to_search
from recsys_tui.tui.screens.main_base import LISTS, K
from recsys_tui.tui.screens.main_events import EventKeys
from recsys_tui.tui.screens.main_work import BackgroundWork
from recsys_tui.tui.widgets.catalogue import COLUMNS, CataloguePane
from recsys_tui.tui.widgets.detail import MovieDetail
from recsys_tui.tui.widgets.footer import StableFooter
from recsys_tui.tui.widgets.latency import LatencyPane
from recsys_tui.tui.widgets.profile import ProfilePane
from recsys_tui.tui.widgets.recommendations import RecsPane
from recsys_tui.tui.widgets.status import StatusBar
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Input

SEARCH_LIMIT = None
"""Every match: the catalogue table is virtual (renders only visible rows)."""
SIMILAR_K = 20
LIST_ACTIONS = ("rate", "nudge", "click", "similar")
PANE_TITLES = {"catalogue": "Catalogue", "recs": "Recommendations", "detail": "Movie",
               "latency": "Latency (ms)", "profile": "Profile"}
FOCUS_MARK = "▶ "
"""Put before the title of the pane that has the focus: visible without colour (NO_COLOR)."""
FOOTER_RANK = ("main.rate_1", "main.nudge_down", "main.help", "main.search", "main.similar", "main.undo",
               "main.switch_user", "main.genre", "main.sort", "main.retrain", "main.learning", "main.export")
"""The footer's keys, most important first: at 80 columns the first seven (six on whole-star data
sets, which have no +/-) and Quit fit; F1 lists every key."""
QUIT_CELLS = len("^q Quit ")
"""The app's Quit key, always in the footer beside the screen's keys."""
POLL_S = 0.25
"""How often the screen asks the engine whether another process recorded something for the user."""


class MainScreen(EventKeys, BackgroundWork):
    """Browse, rate and watch the list change; see the module docstring."""

    # Letters typed in a list go to the search box (``on_key``); so no bare letter is bound here.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "rate(1)", "Rate", key_display="1–5", id="main.rate_1"),
        Binding("minus", "nudge(-1)", "½★", key_display="+/-", id="main.nudge_down"),
        Binding("plus", "nudge(1)", "Half a star up", show=False, id="main.nudge_up"),
        Binding("equals_sign", "nudge(1)", "Half a star up", show=False, id="main.nudge_up_equals"),
        Binding("f1", "app.help", "Help", id="main.help"),  # first in the footer (also an app key)
        Binding("2", "rate(2)", "Rate 2 stars", show=False, id="main.rate_2"),
        Binding("3", "rate(3)", "Rate 3 stars", show=False, id="main.rate_3"),
        Binding("4", "rate(4)", "Rate 4 stars", show=False, id="main.rate_4"),
        Binding("5", "rate(5)", "Rate 5 stars", show=False, id="main.rate_5"),
        Binding("slash", "focus_search", "Search", key_display="/", id="main.search"),
        Binding("escape", "leave_search", "Back to list", show=False, id="main.leave_search"),
        Binding("down", "leave_search", "Into the list", show=False, id="main.search_down"),
        Binding("f3", "similar", "Similar", id="main.similar"),
        Binding("f4", "genre", "Genre", id="main.genre"),
        Binding("f5", "sort", "Sort", id="main.sort"),
        Binding("ctrl+z", "undo", "Undo", id="main.undo"),
        Binding("f2", "switch_user", "User", id="main.switch_user"),
        Binding("f6", "learning", "Learn", id="main.learning"),
        Binding("f7", "export", "Export", id="main.export"),
        Binding("ctrl+r", "retrain", "Retrain", id="main.retrain"),
    ]

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
        yield StableFooter(compact=True)

    def on_mount(self) -> None:
        for wid in ("detail", "profile"):  # read-only panes: Tab skips them
            self.query_one(f"#{wid}").can_focus = False
        self.detail.half_stars = self.engine.half_stars
        # At once: ``focus()`` lands after the app's queue, which may be after a person (or a script)
        # already moved to another list, and would then pull the focus back.
        self.set_focus(self.query_one("#catalogue-table"))
        self._mark_focus()
        if self.app.user_id is not None:
            self.set_user(self.app.user_id)
        self.set_interval(POLL_S, self.poll_others)

    def on_resize(self) -> None:
        self.apply_layout()

    def apply_layout(self) -> None:
        """The preferred layout: ``auto`` follows the size; ``compact``/``wide`` force one."""
        layout = self.app.prefs.layout
        tall = self.size.height >= 34 if layout == "auto" else layout == "wide"
        wide = self.size.width >= 110 if layout == "auto" else layout == "wide"
        self.set_class(tall, "-tall")
        self.set_class(wide, "-wide")
        self.recs.set_two_lines(tall)
        halves = self.engine.half_stars
        ranked = tuple(b for b in FOOTER_RANK if halves or b != "main.nudge_down")
        fit_footer(self, ranked, QUIT_CELLS, self.size.width)

    # -- keys and focus --------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """Type-to-search: a printable key in a list (except 1–5, /, and + - = on a half-star data
        set) goes to the search box."""
        type_to_search(self, event, LISTS, "search", keep="12345/+-=" if self.engine.half_stars else "12345/")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer shows the focused pane's keys: rating, view and similar belong to the lists."""
        if action == "nudge":
            return self.engine.half_stars and self._list_focused() is not None
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
        """Escape or ↓ in the search box: back to the list it filters (↓ as in fzf: the results are
        below the box; the box has no lines to move through)."""
        if self.focused is not None and self.focused.id == "search":
            self.catalogue.table.focus()

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
        self.profile_pane.show(message.profile, self.app.user_summary(self.user_id))
        for row in message.rows:  # the catalogue's "You" column follows another session's ratings
            self.catalogue.update_row(row)
            if row.item_id == self.selected:
                self.show_detail(row)
        self.latency.show_timings(message.recs.timings, "recommend")
        self.app.last_recs = message.recs
        self.refresh_status(busy="")  # e.g. "building hnsw index" is over
        if not self.frozen:
            self.frozen = True
            self.call_after_refresh(self.app.freeze_heap)
        self.finished("recs", message.recs)

    def poll_others(self) -> None:
        """Every ``POLL_S``: start a check unless the previous one is still running. A check is
        never cancelled by the next one: ``engine.poll`` brings the view forward as it answers,
        so a check cut off after it answered yes would lose the update for good."""
        if self.user_id is not None and not self.polling:
            self.polling = True
            self.check_others(self.user_id)

    @work(thread=True, exit_on_error=False, group="poll")
    def check_others(self, user_id: int) -> None:
        """Show what another session, host or CLI call recorded for the user (no keypress)."""
        try:
            shown = self.app.last_recs
            as_of = shown.as_of if shown is not None and shown.user_id == user_id else None
            if self.engine.poll(user_id, as_of):
                recs = self.engine.recommend(user_id, K)
                profile = self.engine.profile(user_id)
                changed = {e.item_id for e in profile.recent if as_of is None or e.event_id > as_of}
                rows = tuple(self.engine.movie(i, user_id) for i in sorted(changed))
                self.post_message(RecsReady(recs, profile, "another session", rows))
        finally:
            self.polling = False

    # -- catalogue -------------------------------------------------------------------------------

    def set_search(self, text: str, genre: str | None = None) -> None:
        """Put ``text`` in the search box and search now (as typing in it would); ``genre`` None
        keeps the current genre filter, "" clears it."""
        self.search_text = text
        self.genre = (genre or None) if genre is not None else self.genre
        self.query_one("#search", Input).value = text
        self.run_search(text, self.genre)

    def on_input_changed(self, event: Input.Changed) -> None:
        if has_control(event.value):  # pasted control characters are shown as placeholders
            event.input.value = plain(event.value)
            return
        # a Changed that the box has since moved on from (a newer key, or ``set_search``) is stale:
        # searching it would overwrite the newer query's results
        if event.input.id == "search" and event.value == event.input.value \
                and event.value != self.search_text:
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

    def run_search(self, text: str, genre: str | None) -> None:
        """Search now when the engine is free (an indexed search takes a few milliseconds, less
        than a frame, and a worker thread would wait for the GIL behind the redraw), else in a
        worker."""
        rows = self.engine.search_if_free(text, genre, self.user_id, SEARCH_LIMIT)
        if rows is None:
            self._search_in_worker(text, genre)
        else:
            self.post_message(SearchDone(text, genre, rows))

    @work(thread=True, exit_on_error=False, exclusive=True, group="search")
    def _search_in_worker(self, text: str, genre: str | None) -> None:
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
        self.finished("search", message.rows)

    def on_movie_highlighted(self, message: MovieHighlighted) -> None:
        if message.item_id != self.active_item():
            return  # a list the person is not in moved (e.g. refilled): the selection stays
        self.selected = message.item_id
        if message.row is not None:
            self.show_detail(message.row)
        else:
            self.load_movie(message.item_id)

    def select_item(self, item_id: int) -> None:
        """Select a movie by id as a person would: focus the catalogue and move its cursor there
        (a movie not in the table is selected for the detail pane only)."""
        self.selected = item_id
        if self.catalogue.select(item_id):
            self.set_focus(self.catalogue.table)  # at once, as in ``select_recommendation``
        self.load_movie(item_id)

    def select_recommendation(self, rank: int) -> int:
        """Focus the recommendation list (unless it has the focus: a person already there only
        moves the cursor) and put its cursor on ``rank`` (1-based); the item id."""
        recs = self.recs.recs
        if recs is None or not 1 <= rank <= len(recs.items):
            raise IndexError(f"no recommendation at rank {rank}")
        table = self.recs.table
        if not table.has_focus:
            self.set_focus(table)  # now, not after the queue: a highlight already queued from another
            # list (e.g. the catalogue refilled) must find this list active and leave the selection
        table.move_cursor(row=rank - 1, animate=False)
        item = recs.items[rank - 1].item_id
        self.selected = item
        self.load_movie(item)
        return item

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
        self.set_focus(self.catalogue.table)  # at once, as in ``select_recommendation``
        item = self.catalogue.selected_item()
        if item is not None:
            self.selected = item
            self.load_movie(item)
        self.latency.show_timings(message.similar.timings, "more like this")
        self.finished("similar", message.similar)

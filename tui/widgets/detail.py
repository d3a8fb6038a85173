"""The movie detail pane: the selected movie, its genres and statistics, your rating, more like this."""

from __future__ import annotations

from recsys_tui.core.results import MovieRow, SimilarList
from recsys_tui.tui.widgets.catalogue import stars
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


class MovieDetail(VerticalScroll):
    """Shows one movie; ``m`` fills the catalogue with similar movies and lists the closest here.

    The text has a fixed height in the stylesheet, so updating it needs no layout pass (which would
    re-render every pane and slow the rating → list refresh).
    """

    def compose(self):
        yield Static("no movie selected", id="detail-text")

    def show(self, row: MovieRow | None, similar: SimilarList | None = None) -> None:
        if row is None:
            self.query_one("#detail-text", Static).update("no movie selected", layout=False)
            return
        text = Text()
        text.append(row.title, style="bold")
        text.append(f"\n{row.year or 'year unknown'} · #{row.item_id}")
        text.append(f"\n{', '.join(row.genres)}")
        text.append(f"\navg ★{row.avg_rating:.2f} from {row.n_ratings} ratings")
        text.append(f"\nyour rating: {stars(row.your_rating)}  (1–5 rate, c click)")
        if similar is not None and similar.item_id == row.item_id:
            text.append("\nmore like this (m):", style="bold")
            for s in similar.items[:5]:
                text.append(f"\n  {s.similarity:.2f} {s.title}")
        else:
            text.append("\nm: more like this", style="italic")
        self.query_one("#detail-text", Static).update(text, layout=False)

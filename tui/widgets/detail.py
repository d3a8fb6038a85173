"""The movie detail pane: the selected movie and, for a recommendation, why it is there.

For a recommended movie the pane leads with its rank and score, what the score means for the
current model, and the rated movies that contribute most with their share of the pull (a small bar
each), or "popular now" for a cold-start list; then the movie's statistics and your rating.
Every outside string (title, genres) goes in as ``Text(plain(...))``: shown, never obeyed.
"""

from __future__ import annotations

from recsys_tui.common.text import plain
from recsys_tui.core.reasons import score_meaning
from recsys_tui.core.results import MovieRow, Recommendation, SimilarList, score_text
from recsys_tui.tui.widgets.catalogue import stars
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

BAR_WIDTH = 5
_EIGHTHS = " ▏▎▍▌▋▊▉"

SHORT_MEANING = {
    "als": "ALS taste match, ~0–1.5",
    "ease": "EASE: item-item weights",
    "hybrid": "hybrid: EASE+ALS, scaled",
    "popularity": "ratings+views, all users",
    "random": "random: no meaning",
}
"""What a score is, in the 24 cells the pane has at 80×24 (the long form: ``score_meaning``)."""


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """``share`` (0–1) as a bar of block characters, ``width`` cells, eighths of a cell precise."""
    eighths = max(0, min(width * 8, round(share * width * 8)))
    full, part = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[part] if part else "")).ljust(width)


def explanation(rec: Recommendation, n_items: int, model: str, personal: bool) -> Text:
    """Rank, score and its meaning, and the contributors with their shares."""
    text = Text()
    text.append(f"#{rec.rank} of {n_items} · score {score_text(rec.score)}", style="bold")
    short = SHORT_MEANING.get(model, model) if personal else "popular: ratings+views"
    text.append(f"\n{short}", style="italic")
    if not personal or not rec.because:
        text.append("\n" + plain(rec.reason))
        return text
    for c in rec.because:
        what = f"★{c.rating:g}" if c.rating else "seen"
        text.append(f"\n{bar(c.share)}{c.share:>4.0%} {what} ")
        text.append(plain(c.title))
    return text


class MovieDetail(VerticalScroll):
    """Shows one movie; ``m`` fills the catalogue with similar movies and lists the closest here.

    The text has a fixed height in the stylesheet, so updating it needs no layout pass (which would
    re-render every pane and slow the rating → list refresh).
    """

    half_stars = False
    """The data set rates in half stars: the rating hint names + and - too (set by the screen)."""

    def compose(self):
        yield Static("no movie selected", id="detail-text")

    def show(self, row: MovieRow | None, similar: SimilarList | None = None,
             rec: Recommendation | None = None, n_items: int = 10, model: str = "",
             personal: bool = True) -> None:
        """``rec``: the movie's entry in the shown recommendation list (explained first)."""
        if row is None:
            self.query_one("#detail-text", Static).update("no movie selected", layout=False)
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(plain(row.title), style="bold")
        text.append(f" ({row.year})" if row.year else "")
        if rec is not None:
            text.append("\n")
            text.append_text(explanation(rec, n_items, model, personal))
        text.append(f"\n#{row.item_id} · avg ★{row.avg_rating:.2f} from {row.n_ratings} "
                    f"rating{'' if row.n_ratings == 1 else 's'}")
        keys = "1–5, +/- ½" if self.half_stars else "1–5 rate, Enter view"
        text.append(f"\nyour rating: {stars(row.your_rating)}  ({keys})")
        text.append("\n" + plain(", ".join(row.genres)))
        if similar is not None and similar.item_id == row.item_id:
            text.append("\nmore like this (m), similarity:", style="bold")
            for s in similar.items[:5]:
                text.append(f"\n  {s.similarity:.2f} ")
                text.append(plain(s.title))
        elif rec is None:
            text.append("\nF3: more like this", style="italic")
        self.query_one("#detail-text", Static).update(text, layout=False)


def meaning(model: str, personal: bool) -> str:
    """The long explanation of a score (for help texts): see ``core.reasons.score_meaning``."""
    return score_meaning(model, personal)

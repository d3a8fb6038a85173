"""``recsys-tui recommend | rate | click | undo | new-user | similar | history | status``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from recsys_tui.common.errors import RecsysError
from recsys_tui.common.text import plain
from recsys_tui.console import json_text
from recsys_tui.context import STATE, engine_session, ensure_home
from recsys_tui.options import FormatOpt, ItemOpt, KOpt, UserOpt, command_app
from recsys_tui.output import FORMATS, emit, timing_line
from recsys_tui.usage import UsageProblem, choice, entity_id, list_length

if TYPE_CHECKING:
    from recsys_tui.core.results import EventResult, RecList

app = command_app()


def _when(ts: int) -> str:
    """A logged event's Unix time as a readable UTC time to the minute (``1998-03-14 09:26``)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _listing(fmt: str, k: int | None = None) -> None:
    """Check the options every listing command shares: ``--format`` and ``-k``."""
    choice(fmt, FORMATS, "format")
    if k is not None:
        list_length(k)


def rec_rows(recs: RecList, changes: dict[int, str] | None = None) -> list[tuple]:
    """A recommendation list as table rows (with each item's rank change when ``changes``)."""
    return [(r.rank, r.item_id, r.title, round(float(r.score), 4), r.reason,
             *((changes.get(r.item_id, ""),) if changes is not None else ()))
            for r in recs.items]


def print_event(result: EventResult, fmt: str) -> None:
    """An event's result: the new list with rank changes, what dropped out, the step timings."""
    labels = {c.item_id: c.label for c in result.changes}
    cols = ["rank", "item_id", "title", "score", "reason", "change"]
    if fmt == "json":
        payload = {
            "event_id": result.event_id, "user_id": result.user_id, "item_id": result.item_id,
            "kind": result.kind, "rating": result.rating,
            "before": result.before.item_ids if result.before else None,
            "after": [dict(zip(cols, row, strict=True)) for row in rec_rows(result.after, labels)],
            "dropped": [c.item_id for c in result.changes if c.after is None],
            "timings_ms": {**result.timings.steps, "total": result.timings.total_ms},
            "degraded": result.degraded,
        }
        STATE.console.print(Text(json_text(payload)), soft_wrap=True)
        return
    what = f"rated ★{result.rating:g}" if result.kind == "rating" else result.kind
    STATE.console.print(f"event {result.event_id}: user {result.user_id} {what} item {result.item_id}")
    emit(STATE.console, cols, rec_rows(result.after, labels), fmt,
         title=f"top-{len(result.after.items)} after (before → after)")
    dropped = [c for c in result.changes if c.after is None]
    if dropped and fmt == "table":
        STATE.console.print(Text("dropped out: " + "; ".join(f"{plain(c.title)} (was #{c.before})"
                                                              for c in dropped)))
    if fmt == "table":
        STATE.console.print(f"timing (ms): {timing_line(result.timings.steps, result.timings.total_ms)}")
        if result.degraded:
            STATE.err.print(Text(f"degraded: {plain(result.degraded)} (event kept in the log)"),
                            soft_wrap=True)


class ShownAfterCommit(RecsysError):
    """The event is in the log, but its result could not be shown (the person must not retry)."""


def show_recorded(result: EventResult, fmt: str) -> None:
    """Print an event's result; any failure now says the event was recorded, so no one retries it."""
    try:
        print_event(result, fmt)
    except Exception as exc:  # the event is committed: report it as done, whatever the printing did
        raise ShownAfterCommit(f"event {result.event_id} was recorded (do not repeat it), but showing "
                               f"the result failed: {type(exc).__name__}: {exc}") from None


def _stars(rating: str) -> float:
    """``--rating``: 1–5 stars, halves allowed (ML-10M and later rate in halves)."""
    try:
        stars = float(rating)
    except ValueError:
        stars = float("nan")
    if not (0.5 <= stars <= 5 and stars * 2 == int(stars * 2)):
        raise UsageProblem(f"--rating must be 1–5 stars (halves on ML-10M and later), got {rating!r}")
    return int(stars) if stars == int(stars) else stars


@app.command("recommend")
def recommend(
    user: Annotated[int | None, typer.Option("--user", "-u", help="User id.")] = None,
    all_users: Annotated[bool, typer.Option("--all-users", help="Every user (batch).")] = False,
    k: KOpt = 10,
    fmt: FormatOpt = "table",
) -> None:
    """Top-k for one user (with reasons and timing) or for every user (batch)."""
    _listing(fmt, k)
    if (user is None) == (not all_users):
        raise UsageProblem("give exactly one of --user ID or --all-users")
    if user is not None:
        entity_id(user, "user id")
    with engine_session() as engine:
        if all_users:
            users, items, scores = engine.recommend_all(k)
            rows = [(int(u), rank + 1, int(items[n, rank]), round(float(scores[n, rank]), 6))
                    for n, u in enumerate(users) for rank in range(items.shape[1])
                    if items[n, rank] > 0]
            emit(STATE.console, ["user_id", "rank", "item_id", "score"], rows, fmt)
            return
        recs = engine.recommend(user, k)
        emit(STATE.console, ["rank", "item_id", "title", "score", "reason"], rec_rows(recs), fmt,
             title=f"user {user}: {'personal' if recs.personal else 'popular (cold start)'} "
                   f"top-{k} from {recs.model_version}")
        if fmt == "table":
            STATE.console.print(f"timing (ms): {timing_line(recs.timings.steps, recs.timings.total_ms)}")


@app.command("rate")
def rate(user: UserOpt, item: ItemOpt,
         rating: Annotated[str, typer.Option(
             "--rating", "-r", help="Stars, 1–5 (0.5–5 in halves on ML-10M and later).")],
         k: KOpt = 10, fmt: FormatOpt = "table") -> None:
    """Record a rating, then show the new top-k with rank changes and step timings."""
    _listing(fmt, k)
    entity_id(user, "user id")
    entity_id(item, "item id")
    stars = _stars(rating)
    with engine_session() as engine:
        show_recorded(engine.record(user, item, "rating", stars, k=k), fmt)


@app.command("click")
def click(user: UserOpt, item: ItemOpt,
          kind: Annotated[str, typer.Option(help="click or view.")] = "click",
          k: KOpt = 10, fmt: FormatOpt = "table") -> None:
    """Record a click or view (an implicit signal), then show the new top-k."""
    _listing(fmt, k)
    choice(kind, ("click", "view"), "event kind")
    entity_id(user, "user id")
    entity_id(item, "item id")
    with engine_session() as engine:
        show_recorded(engine.record(user, item, kind, k=k), fmt)


@app.command("undo")
def undo(user: UserOpt, k: KOpt = 10, fmt: FormatOpt = "table") -> None:
    """Undo the user's newest logged event."""
    _listing(fmt, k)
    entity_id(user, "user id")
    with engine_session() as engine:
        show_recorded(engine.undo_last(user, k), fmt)


@app.command("new-user")
def new_user() -> None:
    """Create a new (cold-start) user and print the id."""
    with engine_session() as engine:
        STATE.console.print(Text(str(int(engine.new_user()))))


@app.command("similar")
def similar(item: ItemOpt, k: KOpt = 10, fmt: FormatOpt = "table") -> None:
    """More like this: items whose vectors are closest to the item's."""
    _listing(fmt, k)
    entity_id(item, "item id")
    with engine_session() as engine:
        result = engine.similar(item, k)
        rows = [(n + 1, s.item_id, s.title, round(float(s.similarity), 4))
                for n, s in enumerate(result.items)]
        emit(STATE.console, ["rank", "item_id", "title", "similarity"], rows, fmt,
             title=f"more like {engine.catalogue.title(item)}")


@app.command("history")
def history(user: UserOpt, fmt: FormatOpt = "table") -> None:
    """Every logged event of the user (undone ones left out), oldest first; times in UTC."""
    _listing(fmt)
    entity_id(user, "user id")
    with engine_session() as engine:
        entries = engine.history(user)
    readable = fmt == "table"  # machine formats keep the Unix time (seconds, UTC)
    cols = ["event_id", "time (UTC)" if readable else "ts", "kind", "item_id", "title", "rating"]
    rows = [(h.event_id, _when(h.ts) if readable else h.ts, h.kind, h.item_id, h.title, h.rating)
            for h in entries]
    emit(STATE.console, cols, rows, fmt, title=f"user {user}: {len(rows)} logged events")


@app.command("status")
def status() -> None:
    """Model version, index, feature store (password hidden) and event count."""
    from recsys_tui.core.status_probe import probe

    home = ensure_home()  # read without opening the engine (core.status_probe): no model, no index
    s = probe(home, STATE.effective_redis_url(), STATE.effective_log_url())
    for key, value in vars(s).items():
        if isinstance(value, tuple):  # store_problems: one line each, "-" when none
            value = "; ".join(value) or None
        STATE.console.print(Text(f"{key:>13}: {plain(value) if value is not None else '-'}"))


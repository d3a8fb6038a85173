"""``recsys-tui recommend | rate | click | new-user | similar | history | status``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.text import Text

from recsys_tui.bootstrap import needs_setup, open_ready
from recsys_tui.commands.train import UsageProblem, _choice
from recsys_tui.common.errors import RecsysError
from recsys_tui.common.text import plain
from recsys_tui.console import json_text, note
from recsys_tui.context import STATE
from recsys_tui.core.engine import Engine
from recsys_tui.core.keys import InvalidId, valid_id
from recsys_tui.core.results import EventResult, RecList
from recsys_tui.output import FORMATS, emit, timing_line
from recsys_tui.progress import download_bar

UserOpt = Annotated[int, typer.Option(
    "--user", "-u", help="User id: a user of the data set (see `data info`) or a new user's id.")]
ItemOpt = Annotated[int, typer.Option(
    "--item", "-i", help="Item id from the data set's catalogue (see `data info`).")]
KOpt = Annotated[int, typer.Option("-k", help="How many recommendations (1–1000).")]
FmtOpt = Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")]


def open_engine() -> Engine:
    """The engine on the home's current model; first use fetches and trains (with progress)."""
    def say(text: str) -> None:
        STATE.err.print(note(text))

    if needs_setup(STATE.home):
        with download_bar(STATE.err, STATE.home.dataset) as progress:
            return open_ready(STATE.home, STATE.effective_redis_url(), say, progress,
                              log_url=STATE.effective_log_url())
    return open_ready(STATE.home, STATE.effective_redis_url(), say, log_url=STATE.effective_log_url())


def _id(value: int, what: str) -> int:
    """A syntactically valid id (positive, in key range) or a usage error; the engine then says
    whether the data set knows it."""
    try:
        return valid_id(value, what)
    except InvalidId as exc:
        raise UsageProblem(str(exc)) from None


def _when(ts: int) -> str:
    """A logged event's Unix time as a readable UTC time to the minute (``1998-03-14 09:26``)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _k(k: int) -> int:
    if not 1 <= k <= 1000:
        raise UsageProblem(f"-k must be an integer 1–1000, got {k}")
    return k


def _rec_rows(recs: RecList, changes: dict[int, str] | None = None) -> list[tuple]:
    return [(r.rank, r.item_id, r.title, round(float(r.score), 4), r.reason,
             *((changes.get(r.item_id, ""),) if changes is not None else ()))
            for r in recs.items]


def _print_event(result: EventResult, fmt: str) -> None:
    labels = {c.item_id: c.label for c in result.changes}
    cols = ["rank", "item_id", "title", "score", "reason", "change"]
    if fmt == "json":
        payload = {
            "event_id": result.event_id, "user_id": result.user_id, "item_id": result.item_id,
            "kind": result.kind, "rating": result.rating,
            "before": result.before.item_ids if result.before else None,
            "after": [dict(zip(cols, row, strict=True)) for row in _rec_rows(result.after, labels)],
            "dropped": [c.item_id for c in result.changes if c.after is None],
            "timings_ms": {**result.timings.steps, "total": result.timings.total_ms},
            "degraded": result.degraded,
        }
        STATE.console.print(Text(json_text(payload)), soft_wrap=True)
        return
    what = f"rated ★{result.rating:g}" if result.kind == "rating" else result.kind
    STATE.console.print(f"event {result.event_id}: user {result.user_id} {what} item {result.item_id}")
    emit(STATE.console, cols, _rec_rows(result.after, labels), fmt,
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


def _show_recorded(result: EventResult, fmt: str) -> None:
    """Print an event's result; any failure now says the event was recorded, so no one retries it."""
    try:
        _print_event(result, fmt)
    except Exception as exc:  # the event is committed: report it as done, whatever the printing did
        raise ShownAfterCommit(f"event {result.event_id} was recorded (do not repeat it), but showing "
                               f"the result failed: {type(exc).__name__}: {exc}") from None


def register(app: typer.Typer) -> None:
    @app.command("recommend")
    def recommend_cmd(
        user: Annotated[int | None, typer.Option("--user", "-u", help="User id.")] = None,
        all_users: Annotated[bool, typer.Option("--all-users", help="Every user (batch).")] = False,
        k: KOpt = 10,
        fmt: FmtOpt = "table",
    ) -> None:
        """Top-k for one user (with reasons and timing) or for every user (batch)."""
        _choice(fmt, FORMATS, "format")
        _k(k)
        if (user is None) == (not all_users):
            raise UsageProblem("give exactly one of --user ID or --all-users")
        if user is not None:
            _id(user, "user id")
        engine = open_engine()
        try:
            if all_users:
                users, items, scores = engine.recommend_all(k)
                rows = [(int(u), rank + 1, int(items[n, rank]), round(float(scores[n, rank]), 6))
                        for n, u in enumerate(users) for rank in range(items.shape[1])
                        if items[n, rank] > 0]
                emit(STATE.console, ["user_id", "rank", "item_id", "score"], rows, fmt)
                return
            recs = engine.recommend(user, k)
            emit(STATE.console, ["rank", "item_id", "title", "score", "reason"], _rec_rows(recs), fmt,
                 title=f"user {user}: {'personal' if recs.personal else 'popular (cold start)'} "
                       f"top-{k} from {recs.model_version}")
            if fmt == "table":
                STATE.console.print(f"timing (ms): {timing_line(recs.timings.steps, recs.timings.total_ms)}")
        finally:
            engine.close()

    @app.command("rate")
    def rate_cmd(user: UserOpt, item: ItemOpt,
                 rating: Annotated[str, typer.Option(
                     "--rating", "-r", help="Stars, 1–5 (0.5–5 in halves on ML-10M and later).")],
                 k: KOpt = 10, fmt: FmtOpt = "table") -> None:
        """Record a rating, then show the new top-k with rank changes and step timings."""
        _choice(fmt, FORMATS, "format")
        _k(k)
        _id(user, "user id")
        _id(item, "item id")
        try:
            stars = float(rating)
        except ValueError:
            raise UsageProblem(f"--rating must be 1–5 stars (halves on ML-10M and later), "
                               f"got {rating!r}") from None
        if not (0.5 <= stars <= 5 and stars * 2 == int(stars * 2)):
            raise UsageProblem(f"--rating must be 1–5 stars (halves on ML-10M and later), got {rating!r}")
        if stars == int(stars):
            stars = int(stars)
        engine = open_engine()
        try:
            _show_recorded(engine.record(user, item, "rating", stars, k=k), fmt)
        finally:
            engine.close()

    @app.command("click")
    def click_cmd(user: UserOpt, item: ItemOpt,
                  kind: Annotated[str, typer.Option(help="click or view.")] = "click",
                  k: KOpt = 10, fmt: FmtOpt = "table") -> None:
        """Record a click or view (an implicit signal), then show the new top-k."""
        _choice(fmt, FORMATS, "format")
        _k(k)
        _choice(kind, ("click", "view"), "event kind")
        _id(user, "user id")
        _id(item, "item id")
        engine = open_engine()
        try:
            _show_recorded(engine.record(user, item, kind, k=k), fmt)
        finally:
            engine.close()

    @app.command("undo")
    def undo_cmd(user: UserOpt, k: KOpt = 10, fmt: FmtOpt = "table") -> None:
        """Undo the user's newest logged event."""
        _choice(fmt, FORMATS, "format")
        _k(k)
        _id(user, "user id")
        engine = open_engine()
        try:
            _show_recorded(engine.undo_last(user, k), fmt)
        finally:
            engine.close()

    @app.command("new-user")
    def new_user_cmd() -> None:
        """Create a new (cold-start) user and print the id."""
        engine = open_engine()
        try:
            STATE.console.print(Text(str(int(engine.new_user()))))
        finally:
            engine.close()

    @app.command("similar")
    def similar_cmd(item: ItemOpt, k: KOpt = 10, fmt: FmtOpt = "table") -> None:
        """More like this: items whose vectors are closest to the item's."""
        _choice(fmt, FORMATS, "format")
        _k(k)
        _id(item, "item id")
        engine = open_engine()
        try:
            result = engine.similar(item, k)
            emit(STATE.console, ["rank", "item_id", "title", "similarity"],
                 [(n + 1, s.item_id, s.title, round(float(s.similarity), 4))
                  for n, s in enumerate(result.items)],
                 fmt, title=f"more like {engine.catalogue.title(item)}")
        finally:
            engine.close()

    @app.command("history")
    def history_cmd(user: UserOpt, fmt: FmtOpt = "table") -> None:
        """Every logged event of the user (undone ones left out), oldest first; times in UTC."""
        _choice(fmt, FORMATS, "format")
        _id(user, "user id")
        engine = open_engine()
        try:
            entries = engine.history(user)
            if fmt == "table":
                cols = ["event_id", "time (UTC)", "kind", "item_id", "title", "rating"]
                rows = [(h.event_id, _when(h.ts), h.kind, h.item_id, h.title, h.rating) for h in entries]
            else:  # machine formats keep the Unix time (seconds, UTC)
                cols = ["event_id", "ts", "kind", "item_id", "title", "rating"]
                rows = [(h.event_id, h.ts, h.kind, h.item_id, h.title, h.rating) for h in entries]
            emit(STATE.console, cols, rows, fmt, title=f"user {user}: {len(rows)} logged events")
        finally:
            engine.close()

    @app.command("status")
    def status_cmd() -> None:
        """Model version, index, feature store (password hidden) and event count."""
        engine = open_engine()
        try:
            s = engine.status()
            for key, value in vars(s).items():
                if isinstance(value, tuple):  # store_problems: one line each, "-" when none
                    value = "; ".join(value) or None
                STATE.console.print(Text(f"{key:>13}: {plain(value) if value is not None else '-'}"))
        finally:
            engine.close()

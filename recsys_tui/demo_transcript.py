"""What ``recsys-tui demo`` prints: every action, the lists before and after, the timings, and the
session's latency summary; plus the SVG screenshots it saves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from recsys_tui.common.errors import RecsysError
from recsys_tui.common.text import clean

if TYPE_CHECKING:
    from recsys_tui.core.results import EventResult, RecList
    from recsys_tui.demo_script import Action

SHOWN = 10
"""Recommendations shown per list."""


class DemoError(RecsysError):
    """The demo could not run an action (the message names the script line)."""


@dataclass
class Transcript:
    """What the run printed and found: expectation failures and the latency samples."""

    console: Console
    failures: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)

    def say(self, text: str = "", style: str | None = None) -> None:
        self.console.print(Text(clean(text), style=style or ""), soft_wrap=True)

    def recs(self, recs: RecList, title: str, labels: dict[int, str] | None = None) -> None:
        kind = "personal" if recs.personal else "popular (cold start)"
        self.say(f"  {title}: top-{len(recs.items)} for user {recs.user_id}, {kind}, "
                 f"model {recs.model_version}" + (f" [degraded: {recs.degraded}]" if recs.degraded else ""))
        for r in recs.items[:SHOWN]:
            mark = f"{labels.get(r.item_id, ''):>4} " if labels is not None else ""
            self.say(f"   {mark}{r.rank:>2}. {r.title[:40]:<40} {r.score:8.3f}  {r.reason[:64]}")

    def event(self, result: EventResult | None, render_ms: float | None) -> None:
        if result is None:
            self.say("  nothing changed (the same rating again, or nothing to undo)")
            return
        what = f"rated ★{result.rating:g}" if result.kind == "rating" else result.kind
        self.say(f"  event {result.event_id}: user {result.user_id} {what} #{result.item_id}"
                 + (f" [degraded: {result.degraded}]" if result.degraded else ""))
        steps = " · ".join(f"{k} {v:.2f}" for k, v in result.timings.steps.items())
        pane = f"; keypress → pane {render_ms:.1f} ms" if render_ms is not None else ""
        self.say(f"  engine {result.timings.total_ms:.2f} ms ({steps}){pane}")
        if result.before is not None:
            self.say("  before: " + ", ".join(f"#{i}" for i in result.before.item_ids[:SHOWN]))
        labels = {c.item_id: c.label for c in result.changes}
        self.recs(result.after, "after", labels)
        out = [f"{c.title} (was {c.before})" for c in result.changes if c.after is None]
        self.say("  dropped out: " + ("; ".join(out) if out else "none"))

    def check(self, action: Action, ok: bool, detail: str) -> None:
        if ok:
            self.say(f"  ✓ {detail}")
        else:
            self.failures.append(f"line {action.line}: {action} — {detail}")
            self.say(f"  ✗ FAILED: {detail}")


def save_screenshot(app, path: Path) -> Path:
    """Write the current screen as SVG, atomically."""
    from recsys_tui.common.fsutil import atomic_write_bytes

    if path.suffix.lower() != ".svg":
        raise DemoError(f"screenshots are SVG: {path} should end in .svg")
    try:
        atomic_write_bytes(path, app.export_screenshot().encode())
    except OSError as exc:
        raise DemoError(f"cannot write screenshot {path}: {exc.strerror or exc}") from None
    return path


def summary(app, out: Transcript) -> dict:
    """Session latencies: keypress → recommendation pane, and engine time, per interaction."""
    from recsys_tui.core.results import percentile

    render, engine = list(app.render_ms), list(app.engine_ms)
    stats = {
        "interactions": len(engine),
        "keypress_to_pane_ms": {"p50": percentile(render, 50), "p99": percentile(render, 99),
                                "max": max(render, default=float("nan"))},
        "engine_ms": {"p50": percentile(engine, 50), "p99": percentile(engine, 99)},
        "expect_failures": list(out.failures),
    }
    out.say()
    if engine:
        k, e = stats["keypress_to_pane_ms"], stats["engine_ms"]
        out.say(f"{len(engine)} interactions: keypress → recommendation pane p50 {k['p50']:.1f} ms, "
                f"p99 {k['p99']:.1f} ms, max {k['max']:.1f} ms; engine p50 {e['p50']:.2f} ms, "
                f"p99 {e['p99']:.2f} ms")
    return stats

"""What a scenario reports: the faults it injected, which were survived, events written and found."""

from __future__ import annotations

from dataclasses import dataclass, field

from recsys_tui.common.errors import RecsysError


class CheckError(RecsysError):
    """The fault suite cannot run (no redis-server, no dataset)."""


# -- bookkeeping -------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one scenario injected and what survived."""

    name: str
    faults: list[tuple[str, bool, str]] = field(default_factory=list)
    events_written: int = 0
    events_found: int = 0
    bad_inputs: int = 0
    crashes: int = 0
    notes: dict[str, object] = field(default_factory=dict)

    def fault(self, what: str, ok: bool, detail: str = "") -> bool:
        self.faults.append((what, bool(ok), detail))
        return ok

    @property
    def injected(self) -> int:
        return len(self.faults)

    @property
    def survived(self) -> int:
        return sum(ok for _, ok, _ in self.faults)

    @property
    def failures(self) -> list[str]:
        return [f"{what}: {detail}" for what, ok, detail in self.faults if not ok]


def totals(outcomes: list[Outcome]) -> dict[str, int]:
    """The report's headline numbers (``--json`` keys)."""
    return {
        "faults_injected": sum(o.injected for o in outcomes),
        "faults_survived": sum(o.survived for o in outcomes),
        "events_written": sum(o.events_written for o in outcomes),
        "events_found": sum(o.events_found for o in outcomes),
        "bad_inputs_tried": sum(o.bad_inputs for o in outcomes),
        "crashes": sum(o.crashes for o in outcomes),
    }

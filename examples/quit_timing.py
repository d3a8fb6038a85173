"""Start-up and quit times of the real ``recsys-tui`` process in a pseudo-terminal.

    python examples/quit_timing.py --home /tmp/bench-home [--runs 5] [--json out.json]

For each state (login screen, main screen, a retrain running, the learning-view replay running,
the help screen) it starts ``recsys-tui`` in a pty (TERM=xterm-256color, 120×40), waits for the
screen to show, drives it with the same keys a person presses, sends Ctrl+Q and measures the time
until the process has exited (the whole process: interpreter shutdown included). Start-up is the
time from spawning to the login screen's title on the terminal, and to its user count ("943
users"), which shows once the table is filled. Reports median and max per state.

The home should be a throw-away copy (the main-screen states log in as user 1; a retrain that is
cancelled publishes nothing). Targets (issue 13): start-up ≤ 1.0 s, quit ≤ 0.5 s in every state.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import select
import statistics
import sys
import time
from pathlib import Path

F6 = b"\x1b[17~"
F1 = b"\x1bOP"
CTRL_Q, CTRL_R = b"\x11", b"\x12"
LOGIN_MARK = b"Who are you"
FILLED_MARK = re.compile(rb"\d users")
"""The login screen's user count ("943 users"): shown once the table is filled."""
STATES = ("login", "main", "retrain", "learning", "help")
TIMEOUT_S = 60.0


class Term:
    """``recsys-tui`` in a pty; ``wait_for`` reads the screen bytes (bounded by a timeout)."""

    def __init__(self, home: str) -> None:
        env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="40", RECSYS_TUI_HOME=home)
        env.pop("NO_COLOR", None)
        self.t0 = time.perf_counter()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child: the real command line
            os.execvpe(sys.executable, [sys.executable, "-m", "recsys_tui"], env)
        import fcntl
        import struct
        import termios

        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.seen = b""

    def wait_for(self, mark: bytes | re.Pattern[bytes], timeout: float = TIMEOUT_S) -> float:
        deadline = time.perf_counter() + timeout
        found = mark.search if isinstance(mark, re.Pattern) else lambda seen: mark in seen
        while not found(self.seen):
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no {mark!r} on screen after {timeout:.0f} s")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536)
                except OSError:
                    break
        return time.perf_counter() - self.t0

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def drain(self, seconds: float) -> None:
        """Read output for ``seconds`` (the app keeps drawing)."""
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536)
                except OSError:
                    return

    def quit(self) -> tuple[float, int]:
        """Ctrl+Q; seconds until the process has exited, and its exit status."""
        self.seen = b""
        t0 = time.perf_counter()
        self.send(CTRL_Q)
        deadline = t0 + TIMEOUT_S
        while time.perf_counter() < deadline:
            self.drain(0.01)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return time.perf_counter() - t0, os.waitstatus_to_exitcode(status)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        raise TimeoutError("the app did not quit within 60 s")


def one_run(home: str, state: str) -> dict:
    term = Term(home)
    startup = term.wait_for(LOGIN_MARK)
    filled = term.wait_for(FILLED_MARK)
    term.drain(0.3)
    if state != "login":
        term.seen = b""
        term.send(b"\r")  # log in as the highlighted user
        term.wait_for(b"Recommendations")
        term.drain(0.5)
    if state == "retrain":
        term.send(CTRL_R)
        term.drain(0.3)
        term.send(b"y")
        term.drain(0.5)  # the retrain is now fitting in the background
    elif state == "learning":
        term.send(F6)
        term.drain(1.0)  # the replay is now preparing its models
    elif state == "help":
        term.send(F1)
        term.drain(0.3)
    quit_s, code = term.quit()
    return {"state": state, "startup_s": startup, "filled_s": filled, "quit_s": quit_s, "exit_code": code}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="a throw-away copy of a trained home")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--states", default=",".join(STATES))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not 1 <= args.runs <= 50:
        parser.error("--runs must be 1–50")
    states = [s for s in args.states.split(",") if s]
    if unknown := set(states) - set(STATES):
        parser.error(f"unknown states {sorted(unknown)} (known: {', '.join(STATES)})")
    results = [one_run(args.home, state) for _ in range(args.runs) for state in states]
    summary = {}
    for state in states:
        rows = [r for r in results if r["state"] == state]
        summary[state] = {"quit_s_median": statistics.median(r["quit_s"] for r in rows),
                          "quit_s_max": max(r["quit_s"] for r in rows),
                          "exit_codes": sorted({r["exit_code"] for r in rows})}
    startups = [r["startup_s"] for r in results]
    summary["startup_to_login_s"] = {"median": statistics.median(startups), "max": max(startups)}
    filled = [r["filled_s"] for r in results]
    summary["startup_to_filled_login_s"] = {"median": statistics.median(filled), "max": max(filled)}
    print(f"start-up to the login screen: median {summary['startup_to_login_s']['median']:.2f} s, "
          f"max {summary['startup_to_login_s']['max']:.2f} s over {len(startups)} starts")
    print(f"start-up to a filled login table: median {statistics.median(filled):.2f} s, "
          f"max {max(filled):.2f} s")
    for state in states:
        s = summary[state]
        print(f"quit from {state:<9} median {s['quit_s_median'] * 1000:6.0f} ms  "
              f"max {s['quit_s_max'] * 1000:6.0f} ms  exit codes {s['exit_codes']}")
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

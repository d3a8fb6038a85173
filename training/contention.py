"""CPU contention for benchmarks: N CPU-bound background processes, bounded and always stopped.

``bench --contend N`` measures the hot path quiet and under contention in one run (docs/METHOD.md
§11); the processes here are the contention.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

CONTEND_MAX_S = 1800
"""A background process stops itself after this long even if the bench could not stop it."""
_HOG = ("import sys, time\nend = time.monotonic() + float(sys.argv[1])\nx = 0\n"
        "while time.monotonic() < end:\n    x = (x * 1103515245 + 12345) % 2147483648\n")


@contextlib.contextmanager
def contenders(n: int) -> Iterator[list[subprocess.Popen]]:
    """``n`` CPU-bound Python processes (each stops itself after ``CONTEND_MAX_S``); killed on exit."""
    procs: list[subprocess.Popen] = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen([sys.executable, "-c", _HOG, str(CONTEND_MAX_S)],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        time.sleep(0.5)  # let them reach the CPU
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

"""The log step A/B in one process: appends alternate between a log whose WAL is checkpointed by its
own thread (``core.event_log.Checkpointer``) and one that checkpoints inside the commit (SQLite's
default, as before), with ~1 ms of other work between two events.

    python examples/bench_log_checkpoint.py [FOLDER] [EVENTS]
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from recsys_tui.core.event_log import EventLog

d = Path(tempfile.mkdtemp(dir=sys.argv[1] if len(sys.argv) > 1 else None))
events = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
new, old = EventLog(d / "new.sqlite3"), EventLog(d / "old.sqlite3")
old._db.execute("PRAGMA wal_autocheckpoint = 1000")  # SQLite's default: the commit checkpoints
old.checkpointer.committed = lambda: None            # and no thread
rng = np.random.default_rng(0)
x = np.random.default_rng(1).random((120, 120))
t = {"new": [], "old": []}
print("load", os.getloadavg()[0])
for i in range(events):
    log, name = (new, "new") if i % 2 == 0 else (old, "old")
    u, it = int(rng.integers(1, 160000)), int(rng.integers(1, 60000))
    t0 = time.perf_counter_ns()
    log.append(u, it, "rating", 4.0)
    t[name].append((time.perf_counter_ns() - t0) / 1e6)
    for _ in range(8):
        x = x @ x  # ~1 ms of other work between events
        x /= np.abs(x).max()
print("load", os.getloadavg()[0], "checkpoints by the thread:", new.checkpointer.runs)
for name, v in t.items():
    v = np.array(v)
    print(f"{name}: appends {len(v)} p50 {np.percentile(v, 50):.3f} p99 {np.percentile(v, 99):.3f} "
          f"p99.9 {np.percentile(v, 99.9):.2f} max {v.max():.2f} ms; > 1 ms {int((v > 1).sum())}, "
          f"> 2 ms {int((v > 2).sum())}")
new.close()
old.close()
for f in d.iterdir():
    f.unlink()
d.rmdir()

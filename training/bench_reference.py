"""``recsys-tui bench --reference``: the bare minimum one event needs, timed alone in the same run.

One NumPy solve of a typical user's fold-in, one FAISS search (k=10) on the engine's index and one
write pipeline (the same commands the write script runs) to the engine's store, under the same
thread pins as the engine. The engine's p50/p99 divided by this is the bench's headline ratio.

``script_call_ms`` is the store's own floor for a one-round-trip write: one call of a server-side
script that runs no command, with the event write's seven keys and arguments, sent the way the
engine's writer sends the write (``script_call_command``): ``FCALL`` of an empty function where
the store uses Redis Functions (a throw-away library, deleted afterwards), else ``EVALSHA``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import redis
from recsys_tui.core.engine import Engine
from recsys_tui.core.keys import NAMESPACE
from recsys_tui.core.threads import pin
from recsys_tui.training.bench_synthetic import percentiles

K = 10
"""The bench's list length (``training.bench.K``)."""
FLOOR_REPS = 500
FLOOR_LIBRARY = "recsys_tui_bench_floor"
FLOOR_FUNCTION = f"{FLOOR_LIBRARY}_noop"
FLOOR_CODE = (f"#!lua name={FLOOR_LIBRARY}\n"
              f"redis.register_function('{FLOOR_FUNCTION}', function(KEYS, ARGV) return 0 end)\n")


def run_reference(engine: Engine, reps: int, say: Callable[[str], None]) -> dict:
    """The bare minimum of one event, timed alone (see the module docstring)."""
    say(f"reference: {reps:,} × (solve + search + store pipeline)")
    pin()
    y_all = engine.model.item_factors if engine.is_embedding else None
    raw_index = engine.index.index if engine.index is not None else None
    lengths = sorted((len(engine.trained.history(u)[0]), u) for u in engine.trained.users.ids.tolist())
    user = lengths[len(lengths) // 2][1]
    idx, values = engine.trained.history(user)
    dim = y_all.shape[1] if y_all is not None else 64
    gram = (y_all.astype(np.float64).T @ y_all.astype(np.float64) + 0.1 * np.eye(dim)) \
        if y_all is not None else np.eye(dim)
    client = engine.store.client
    tag = f"{NAMESPACE}:bench:{{ref}}"
    emb = np.zeros(dim, np.float32).tobytes()
    parts: dict[str, list[float]] = {"solve": [], "search": [], "store": []}
    total = []
    for n in range(reps):
        t0 = time.perf_counter_ns()
        if y_all is not None:
            y = y_all[idx].astype(np.float64)
            c = 1.0 + values.astype(np.float64)
            vec = np.linalg.solve(gram + (y.T * (c - 1.0)) @ y, y.T @ c).astype(np.float32)
        else:
            vec = np.zeros(dim, np.float32)
        t1 = time.perf_counter_ns()
        if raw_index is not None:
            raw_index.search(vec[None, :], K)
        t2 = time.perf_counter_ns()
        pipe = client.pipeline(transaction=True)
        pipe.hincrby(f"{tag}:meta", "n_rating", 1)
        pipe.zincrby(f"{tag}:pop", 1, str(n % 1000))
        pipe.lpush(f"{tag}:recent", f"{n}:1:rating:4")
        pipe.ltrim(f"{tag}:recent", 0, 49)
        pipe.set(f"{tag}:emb", emb)
        pipe.hset(f"{tag}:meta", mapping={"last_event_id": n, "emb_version": "ref"})
        pipe.execute()
        t3 = time.perf_counter_ns()
        parts["solve"].append((t1 - t0) / 1e6)
        parts["search"].append((t2 - t1) / 1e6)
        parts["store"].append((t3 - t2) / 1e6)
        total.append((t3 - t0) / 1e6)
    client.delete(f"{tag}:meta", f"{tag}:pop", f"{tag}:recent", f"{tag}:emb")
    writer = getattr(engine.store, "writer", None)
    command, floor = empty_script_calls(client, tag, emb, min(reps, FLOOR_REPS),
                                        functions=writer is not None and writer.command == "FCALL")
    return {"reps": reps, "history_len": len(idx), **percentiles(total, (50, 99)),
            "parts_ms": {k: percentiles(v, (50, 99)) for k, v in parts.items()},
            "script_call_ms": percentiles(floor, (50, 99)), "script_call_command": command}


def empty_script_calls(client: Any, tag: str, emb: bytes, reps: int, functions: bool
                       ) -> tuple[str, list[float]]:
    """The command used and the times of ``reps`` calls of a script that does nothing, with the
    event write's seven keys and arguments: ``FCALL`` of an empty function when ``functions`` and
    the server lets the bench load one, else ``EVALSHA``."""
    keys = [f"{tag}:k{n}" for n in range(7)]
    args = ["0" * 32, 0, 50, emb, "v0000-ref@0", 1, 1, "+", "rating", 1, "1:1:rating:4", 0]
    if functions:
        try:
            client.function_load(FLOOR_CODE, replace=True)
        except redis.ResponseError:  # an ACL without FUNCTION LOAD: the engine's writer fell back too
            functions = False
    if functions:
        try:
            return "FCALL", _timed(lambda: client.fcall(FLOOR_FUNCTION, len(keys), *keys, *args), reps)
        finally:
            with contextlib.suppress(redis.ResponseError):
                client.function_delete(FLOOR_LIBRARY)
    script = client.register_script("return 0")
    return "EVALSHA", _timed(lambda: script(keys=keys, args=args), reps)


def _timed(call: Callable[[], object], reps: int) -> list[float]:
    """Milliseconds of each of ``reps`` calls, after one unmeasured call (it loads what it needs)."""
    call()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        call()
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out

"""The serving path pins its own thread pools, whatever the environment (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "GOTO_NUM_THREADS")

PROBE = r"""
import json, sys
import faiss, numpy, threadpoolctl

threadpoolctl.threadpool_limits(limits=2)  # what a busy environment's defaults might say
from recsys_tui.core.engine import open_engine

def pools():
    return {"libs": [lib["num_threads"] for lib in threadpoolctl.threadpool_info()],
            "faiss": faiss.omp_get_max_threads()}

engine = open_engine(sys.argv[1])
seen = {"before": pools()}
model, index = engine.model, engine.index
fold_in, search_batch, search_unseen = model.fold_in, index.search_batch, index.search_unseen

def spy_fold_in(*args, **kwargs):
    seen.setdefault("fold_in", []).append(pools())
    return fold_in(*args, **kwargs)

def spy_search_unseen(*args, **kwargs):  # the hot path's search (flat: the norm-ordered scan)
    seen.setdefault("search", []).append(pools())
    return search_unseen(*args, **kwargs)

def spy_search_batch(*args, **kwargs):
    seen.setdefault("batch", []).append(pools())
    return search_batch(*args, **kwargs)

model.fold_in, index.search_unseen, index.search_batch = spy_fold_in, spy_search_unseen, spy_search_batch
engine.record(1, 50, "rating", 4, with_before=False)
engine.recommend(2)
serving = {"fold_in": seen.pop("fold_in"), "search": seen.pop("search")}
assert "batch" not in seen, seen
engine.recommend_all(10)
seen["serving"] = serving
print(json.dumps(seen))
"""


def test_engine_in_a_fresh_interpreter_serves_with_one_thread_and_batches_with_all(home):
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    out = subprocess.run([sys.executable, "-c", PROBE, str(home.root)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["before"]["libs"] and 2 in seen["before"]["libs"]  # the environment said 2
    for step in ("fold_in", "search"):
        assert seen["serving"][step], step
        for view in seen["serving"][step]:
            assert set(view["libs"]) == {1}, (step, view)
            assert view["faiss"] == 1, (step, view)
    assert seen["batch"] and all(view["libs"] == seen["before"]["libs"] for view in seen["batch"]), seen

"""Thread pools of the serving path, pinned whatever the environment says.

One event's numeric work (a 64×64 solve, one FAISS query, a few small matrix products) is far too
small to share between threads: on a machine doing other things, BLAS and OpenMP workers that spin
waiting for each other multiply the tail latency. So every serving call (record, undo, recommend,
similar) first pins one BLAS thread and one OpenMP thread in every BLAS/OpenMP library loaded
(threadpoolctl's view: NumPy's OpenBLAS, FAISS's bundled libgomp and OpenBLAS), and single FAISS
queries run with ``faiss.omp_set_num_threads(1)``.

The pins stay set after the call (re-setting thread counts costs ~10 µs an event, a tenth of a
fast event); batch work (``recommend_all``, index builds, evaluation) runs inside ``batch()``,
which restores the process's own pools (every core unless the environment says otherwise) for
its duration and pins again after.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from threadpoolctl import ThreadpoolController

SERVING_THREADS = 1
F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_controller: ThreadpoolController | None = None
_defaults: list[int] = []


def controller() -> ThreadpoolController:
    """threadpoolctl's view of the native libraries loaded now (made once, after FAISS loads); the
    thread counts seen then are the process defaults that batch work gets back."""
    global _controller
    with _lock:
        if _controller is None:
            import faiss  # noqa: F401  (its OpenMP and BLAS must be loaded to be seen)

            _controller = ThreadpoolController()
            _defaults[:] = [lib.num_threads for lib in _controller.lib_controllers]
        return _controller


def pin() -> None:
    """One thread in every BLAS/OpenMP pool (for the calling thread's OpenMP); ~1 µs when set."""
    for lib in controller().lib_controllers:
        if lib.num_threads != SERVING_THREADS:
            lib.set_num_threads(SERVING_THREADS)


def pinned(fn: F) -> F:
    """Decorator: ``fn`` runs with the serving pools (``pin()`` first)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        pin()
        return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Run the block with the process's default pools (every core), then restore what was set."""
    libs = controller().lib_controllers
    before = [lib.num_threads for lib in libs]
    for lib, n in zip(libs, _defaults, strict=True):
        lib.set_num_threads(n)
    try:
        yield
    finally:
        for lib, n in zip(libs, before, strict=True):
            lib.set_num_threads(n)


@contextlib.contextmanager
def faiss_single() -> Iterator[None]:
    """One OpenMP thread for a single FAISS query (the caller's thread only; restored after)."""
    import faiss

    before = faiss.omp_get_max_threads()
    if before == SERVING_THREADS:
        yield
        return
    faiss.omp_set_num_threads(SERVING_THREADS)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def faiss_threads() -> int:
    """FAISS's OpenMP threads for the calling thread right now."""
    import faiss

    return int(faiss.omp_get_max_threads())


def pools() -> dict[str, Any]:
    """The pools as the serving path sees them (threadpoolctl's info after ``pin()``, FAISS's OpenMP
    threads for one query) beside the process defaults that batch work uses. Leaves the pins set."""
    import faiss

    def rows() -> list[dict[str, Any]]:
        return [{k: lib[k] for k in ("user_api", "internal_api", "num_threads", "prefix", "version")
                 if k in lib} for lib in controller().info()]

    with batch():
        batch_rows = rows()
        batch_faiss = faiss.omp_get_max_threads()
    pin()
    with faiss_single():
        serve = rows()
        serve_faiss = faiss.omp_get_max_threads()
    return {"serving": {"libraries": serve, "faiss_omp_threads": serve_faiss},
            "batch": {"libraries": batch_rows, "faiss_omp_threads": batch_faiss}}

"""The FastAPI app over one engine: routes, error mapping, auth, metrics and local /docs assets.

The engine serialises its calls behind one lock, so each worker runs them on one dedicated thread
(``run_in_executor``): the event loop never blocks on the engine, and no pool of threads fights
for the lock and the GIL. An unchanged user's list is answered on the loop itself from the
worker's cache (``api/fastpath.py``). Answers are built as dicts and sent as JSON bytes (the
response models document them at /docs without re-validating each answer). A worker that opens
its own engine keeps garbage-collector pauses small and rare (``api/gcwatch.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from fastapi import FastAPI, Query, Response
from fastapi_offline import FastAPIOffline
from recsys_tui.api import errors
from recsys_tui.api.cache import ListCache, hit_body
from recsys_tui.api.config import ApiConfig
from recsys_tui.api.fastpath import DEFAULT_K, CachedRecommend
from recsys_tui.api.freshness import LogWatch
from recsys_tui.api.gcwatch import GcPauses, full_collections, serving_gc
from recsys_tui.api.metrics import Metrics
from recsys_tui.api.middleware import BearerAuth, RequestMetrics
from recsys_tui.api.schemas import (
    ErrorOut,
    EventIn,
    EventOut,
    HealthOut,
    HistoryOut,
    NewUserOut,
    RecommendOut,
    SimilarOut,
)
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.core.results import RecList, Timings

from recsys_tui import __version__

ERRORS = {status: {"model": ErrorOut} for status in (400, 401, 404, 503)}
T = TypeVar("T")


def _timings(t: Timings) -> dict[str, float]:
    return {**{k: round(v, 4) for k, v in t.steps.items()}, "total": round(t.total_ms, 4)}


def _items(recs: RecList) -> list[dict]:
    return [{"rank": r.rank, "item_id": r.item_id, "title": r.title, "score": round(float(r.score), 6),
             "reason": r.reason} for r in recs.items]


def _rec_payload(recs: RecList) -> dict:
    return {"user": recs.user_id, "personal": recs.personal, "model_version": recs.model_version,
            "items": _items(recs), "timings_ms": _timings(recs.timings), "degraded": recs.degraded,
            "cached": False}


def _encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _json(payload: dict | bytes, status: int = 200) -> Response:
    body = payload if isinstance(payload, bytes) else _encode(payload)
    return Response(body, status_code=status, media_type="application/json")


def open_engine(config: ApiConfig) -> Engine:
    """The engine on the home's published model (``recsys-tui serve`` checks it exists first)."""
    return Engine.open(Home.resolve(config.home), config.redis_url, config.index)


class Service:
    """One worker's engine, its log watch, its answer cache and the thread that runs them."""

    def __init__(self, engine: Engine, metrics: Metrics, cache: bool) -> None:
        self.engine = engine
        self.metrics = metrics
        self.cache = ListCache() if cache else ListCache(0)
        self.watch = LogWatch(engine, on_changed=self.cache.drop)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine")
        self._cache_step = metrics.steps.labels("recommend", "cache")

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, partial(fn, *args))

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        self.watch.close()

    def _hit(self, user: int, k: int, t0: int) -> bytes | None:
        if self.engine.degraded is not None:
            return None
        head = self.cache.get(user, k, self.engine.version)
        if head is None:
            return None
        ms = (time.perf_counter_ns() - t0) / 1e6
        self._cache_step.observe(ms / 1000)
        return hit_body(head, ms)

    def cached_answer(self, user: int, k: int) -> bytes | None:
        """On the event loop: the cached answer when the log has not moved since the last sync."""
        if self.cache.capacity <= 0:
            return None
        t0 = time.perf_counter_ns()
        return self._hit(user, k, t0) if self.watch.fresh() else None

    def recommend(self, user: int, k: int) -> bytes:
        t0 = time.perf_counter_ns()
        self.watch.sync()
        hit = self._hit(user, k, t0)
        if hit is not None:
            return hit
        recs = self.engine.recommend(user, k)
        self.metrics.observe_timings("recommend", recs.timings)
        payload = _rec_payload(recs)
        if recs.personal and recs.degraded is None:
            self.cache.put(recs.user_id, k, recs.model_version, payload)
        return _encode(payload)

    def record(self, event: EventIn) -> dict:
        self.watch.sync()
        result = self.engine.record(event.user, event.item, event.kind, event.rating, k=event.k)
        self.watch.recorded(result.event_id)
        self.cache.drop(result.user_id)
        self.metrics.events.labels(result.kind).inc()
        self.metrics.observe_timings("event", result.timings)
        payload = _rec_payload(result.after)
        payload.update(event_id=result.event_id, item=result.item_id, kind=result.kind,
                       rating=result.rating, before=result.before.item_ids if result.before else None,
                       timings_ms=_timings(result.timings), degraded=result.degraded)
        return payload

    def similar(self, item: int, k: int) -> dict:
        found = self.engine.similar(item, k)
        self.metrics.observe_timings("similar", found.timings)
        title = self.engine.catalogue.title(found.item_id)
        items = [{"rank": n + 1, "item_id": s.item_id, "title": s.title, "score": round(s.similarity, 6),
                  "reason": f"similar to {title}"} for n, s in enumerate(found.items)]
        return {"item": found.item_id, "title": title, "items": items, "timings_ms": _timings(found.timings)}

    def history(self, user: int) -> dict:
        rows = self.engine.history(user)
        return {"user": user, "events": [{"event_id": h.event_id, "item_id": h.item_id, "title": h.title,
                                          "kind": h.kind, "rating": h.rating, "ts": h.ts} for h in rows]}

    def health(self) -> dict:
        eng = self.engine
        reason = eng.reconnect() if eng.degraded else None
        return {"status": "degraded" if reason else "ok", "store": eng.store.kind, "degraded": reason,
                "model_version": eng.version, "worker": os.getpid()}

    def state(self) -> tuple[bool, str, str, int]:
        eng = self.engine
        return eng.degraded is None, eng.store.kind, eng.version, eng.log.max_id()


def create_app(config: ApiConfig | None = None, engine: Engine | None = None) -> FastAPI:
    """The API for ``config`` (default: from the environment); an open ``engine`` is used as is
    and left open, otherwise one is opened at start-up and closed at shutdown."""
    config = config or ApiConfig.from_env()
    box: dict[str, Service] = {}

    def svc() -> Service:
        return box["service"]

    metrics = Metrics(lambda: svc().state())
    gc_pauses = GcPauses()

    def flush_gc() -> None:
        gc_pauses.flush(metrics.gc_pause)

    def cached_answer(user: int, k: int) -> bytes | None:
        service = box.get("service")
        return service.cached_answer(user, k) if service is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = engine is None
        eng = open_engine(config) if own else engine
        box["service"] = Service(eng, metrics, config.cache)
        collector = None
        if own:  # a worker process of its own: its start-up heap is never garbage
            serving_gc()
            collector = asyncio.create_task(full_collections())
        gc_pauses.install()
        try:
            yield
        finally:
            if collector is not None:
                collector.cancel()
            gc_pauses.uninstall()
            box["service"].close()
            if own:
                eng.close()

    app = FastAPIOffline(title="recsys-tui", version=__version__, lifespan=lifespan,
                         description="Recommendations that learn from every event (MovieLens-100K).")
    errors.install(app)
    app.add_middleware(CachedRecommend, answer=cached_answer)  # innermost: after auth and metrics
    if config.token:
        app.add_middleware(BearerAuth, token=config.token)
    app.add_middleware(RequestMetrics, metrics=metrics, after=flush_gc)  # outermost: 401s count too

    @app.get("/recommend", response_model=RecommendOut, responses=ERRORS)
    async def recommend(user: int = Query(description="User id"),
                        k: int = Query(DEFAULT_K, description="How many (1–1000)")) -> Response:
        """The user's top-k with a reason per item and the time of each engine step.

        An unchanged user's personal list is answered from the worker's cache (`cached: true`)."""
        return _json(await svc().run(svc().recommend, user, k))

    @app.post("/events", response_model=EventOut, responses=ERRORS)
    async def post_event(event: EventIn) -> Response:
        """Record a rating (1–5 stars) or a click; answer the new list and per-step timings.

        The event is committed to the log before the answer is sent."""
        return _json(await svc().run(svc().record, event))

    @app.get("/similar", response_model=SimilarOut, responses=ERRORS)
    async def similar(item: int = Query(description="Item id"),
                      k: int = Query(10, description="How many (1–1000)")) -> Response:
        """Items whose learned vectors point the same way (cosine similarity as the score)."""
        return _json(await svc().run(svc().similar, item, k))

    @app.get("/users/{user_id}/history", response_model=HistoryOut, responses=ERRORS)
    async def history(user_id: int) -> Response:
        """Every logged event of the user that was not undone, oldest first."""
        return _json(await svc().run(svc().history, user_id))

    @app.post("/users", response_model=NewUserOut, status_code=201, responses=ERRORS)
    async def new_user() -> Response:
        """Create a brand-new user (cold start: popular items until the first positive event)."""
        return _json({"user": await svc().run(svc().engine.new_user)}, status=201)

    @app.get("/healthz", response_model=HealthOut)
    async def healthz() -> Response:
        """Liveness and the store's state (never needs the token)."""
        return _json(await svc().run(svc().health))

    @app.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    async def metrics_route() -> Response:
        """Prometheus text format: requests and latency per route, engine steps, events, store, model."""
        from prometheus_client import CONTENT_TYPE_LATEST

        flush_gc()
        return Response(await svc().run(metrics.exposition), media_type=CONTENT_TYPE_LATEST)

    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers (``recsys-tui serve`` passes the config in the environment)."""
    return create_app(ApiConfig.from_env())

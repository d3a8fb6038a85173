"""The FastAPI app over one engine: routes, error mapping, auth, metrics and local /docs assets.

Routes are plain ``def`` functions: FastAPI runs them in its thread pool, so the engine (which holds
its own lock around every call) never blocks the event loop. Each answer is built as a dict and
returned as a ``JSONResponse`` (the response models document it at /docs without re-validating).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from recsys_tui.api import errors
from recsys_tui.api.config import ApiConfig
from recsys_tui.api.freshness import LogWatch
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


def _timings(t: Timings) -> dict[str, float]:
    return {**{k: round(v, 4) for k, v in t.steps.items()}, "total": round(t.total_ms, 4)}


def _items(recs: RecList) -> list[dict]:
    return [{"rank": r.rank, "item_id": r.item_id, "title": r.title, "score": round(float(r.score), 6),
             "reason": r.reason} for r in recs.items]


def _rec_payload(recs: RecList) -> dict:
    return {"user": recs.user_id, "personal": recs.personal, "model_version": recs.model_version,
            "items": _items(recs), "timings_ms": _timings(recs.timings), "degraded": recs.degraded}


def open_engine(config: ApiConfig) -> Engine:
    """The engine on the home's published model (``recsys-tui serve`` checks it exists first)."""
    return Engine.open(Home.resolve(config.home), config.redis_url, config.index)


def create_app(config: ApiConfig | None = None, engine: Engine | None = None) -> FastAPI:
    """The API for ``config`` (default: from the environment); an open ``engine`` is used as is
    and left open, otherwise one is opened at start-up and closed at shutdown."""
    config = config or ApiConfig.from_env()
    holder: dict[str, Engine | LogWatch] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Iterator[None]:
        own = engine is None
        eng = open_engine(config) if own else engine
        holder["engine"], holder["watch"] = eng, LogWatch(eng)
        try:
            yield
        finally:
            if own:
                eng.close()

    def eng() -> Engine:
        return holder["engine"]  # type: ignore[return-value]

    def watch() -> LogWatch:
        return holder["watch"]  # type: ignore[return-value]

    def read_state() -> tuple[bool, str, str, int]:
        e = eng()
        return e.degraded is None, e.store.kind, e.version, e.log.max_id()

    metrics = Metrics(read_state)
    app = FastAPIOffline(title="recsys-tui", version=__version__, lifespan=lifespan,
                         description="Recommendations that learn from every event (MovieLens-100K).")
    errors.install(app)
    if config.token:
        app.add_middleware(BearerAuth, token=config.token)
    app.add_middleware(RequestMetrics, metrics=metrics)  # outermost: 401s are counted too

    @app.get("/recommend", response_model=RecommendOut, responses=ERRORS)
    def recommend(user: int = Query(description="User id"),
                  k: int = Query(10, description="How many (1–1000)")) -> Response:
        """The user's top-k with a reason per item and the time of each engine step."""
        watch().sync()
        recs = eng().recommend(user, k)
        metrics.observe_timings("recommend", recs.timings)
        return JSONResponse(_rec_payload(recs))

    @app.post("/events", response_model=EventOut, responses=ERRORS)
    def post_event(event: EventIn) -> Response:
        """Record a rating (1–5 stars) or a click; answer the new list and per-step timings.

        The event is committed to the log before the answer is sent."""
        watch().sync()
        result = eng().record(event.user, event.item, event.kind, event.rating, k=event.k)
        watch().recorded(result.event_id)
        metrics.events.labels(result.kind).inc()
        metrics.observe_timings("event", result.timings)
        payload = _rec_payload(result.after)
        payload.update(event_id=result.event_id, item=result.item_id, kind=result.kind,
                       rating=result.rating, before=result.before.item_ids if result.before else None,
                       timings_ms=_timings(result.timings), degraded=result.degraded)
        return JSONResponse(payload)

    @app.get("/similar", response_model=SimilarOut, responses=ERRORS)
    def similar(item: int = Query(description="Item id"),
                k: int = Query(10, description="How many (1–1000)")) -> Response:
        """Items whose learned vectors point the same way (cosine similarity as the score)."""
        found = eng().similar(item, k)
        metrics.observe_timings("similar", found.timings)
        title = eng().catalogue.title(item)
        items = [{"rank": n + 1, "item_id": s.item_id, "title": s.title, "score": round(s.similarity, 6),
                  "reason": f"similar to {title}"} for n, s in enumerate(found.items)]
        return JSONResponse({"item": found.item_id, "title": title, "items": items,
                             "timings_ms": _timings(found.timings)})

    @app.get("/users/{user_id}/history", response_model=HistoryOut, responses=ERRORS)
    def history(user_id: int) -> Response:
        """Every logged event of the user that was not undone, oldest first."""
        rows = eng().history(user_id)
        return JSONResponse({"user": user_id, "events": [
            {"event_id": h.event_id, "item_id": h.item_id, "title": h.title, "kind": h.kind,
             "rating": h.rating, "ts": h.ts} for h in rows]})

    @app.post("/users", response_model=NewUserOut, status_code=201, responses=ERRORS)
    def new_user() -> Response:
        """Create a brand-new user (cold start: popular items until the first positive event)."""
        return JSONResponse({"user": eng().new_user()}, status_code=201)

    @app.get("/healthz", response_model=HealthOut)
    def healthz() -> Response:
        """Liveness and the store's state (never needs the token)."""
        e = eng()
        reason = e.reconnect() if e.degraded else None
        return JSONResponse({"status": "degraded" if reason else "ok", "store": e.store.kind,
                             "degraded": reason, "model_version": e.version, "worker": os.getpid()})

    @app.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    def metrics_route(request: Request) -> Response:
        """Prometheus text format: requests and latency per route, engine steps, events, store, model."""
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers (``recsys-tui serve`` passes the config in the environment)."""
    return create_app(ApiConfig.from_env())

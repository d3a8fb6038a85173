"""Pure ASGI middleware: bearer-token auth and per-route request metrics."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from recsys_tui.api.metrics import Metrics

OPEN_PATHS = frozenset({"/healthz"})
_UNAUTHORIZED = json.dumps({"error": "missing or wrong bearer token (Authorization: Bearer …)",
                            "status": 401}).encode()
_ROUTES = ("/recommend", "/events", "/similar", "/users", "/healthz", "/metrics", "/docs",
           "/openapi.json")


def route_of(path: str) -> str:
    """The route template a path belongs to (bounded label values for the metrics)."""
    if path.startswith("/users/") and path.endswith("/history"):
        return "/users/{id}/history"
    if path in _ROUTES:
        return path
    if path.startswith("/static-offline-docs/"):
        return "/docs"
    return "other"


class BearerAuth:
    """Every path but /healthz needs ``Authorization: Bearer <token>`` (constant-time compare)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                given = value
                break
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"),
                                (b"www-authenticate", b'Bearer realm="recsys-tui"')]})
        await send({"type": "http.response.body", "body": _UNAUTHORIZED})


class RequestMetrics:
    """Counts every answered request by route, method and status, and times it; then calls
    ``after`` (the app flushes the GC pauses noted meanwhile)."""

    def __init__(self, app: Any, metrics: Metrics, after: Callable[[], object] = lambda: None) -> None:
        self.app = app
        self.metrics = metrics
        self.after = after

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.answered(route_of(scope["path"]), scope["method"], status,
                                  time.perf_counter() - start)
            self.after()

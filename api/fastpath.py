"""``GET /recommend`` for an unchanged user, answered on the event loop from the worker's cache.

Most ``/recommend`` calls ask again for a list this worker already gave, for a user nothing has
happened to since. Such a call needs no engine: the answer is the cached JSON (``api/cache.py``),
valid while the log has not moved (``LogWatch.fresh``). Answering it here, before FastAPI's
routing and parameter validation and without the hop to the engine's thread, takes a fraction of
the CPU and never waits behind the engine's work (an event's fold-in, a user's rebuild).

Only a plain query (``user=N``, ``user=N&k=M`` or ``k=M&user=N``, decimal digits) is taken here;
anything else, and every miss, goes on to the FastAPI route, which validates and answers as
always. A hit implies valid arguments: only answers the engine gave are cached. Auth and request
metrics wrap this middleware, so they apply to these answers too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

DEFAULT_K = 10
_QUERY = re.compile(rb"user=([0-9]{1,10})(?:&k=([0-9]{1,4}))?|k=([0-9]{1,4})&user=([0-9]{1,10})")
_HEADERS = (b"content-type", b"application/json")


def recommend_args(query: bytes) -> tuple[int, int] | None:
    """(user, k) of a plain ``/recommend`` query string; None for anything else."""
    m = _QUERY.fullmatch(query)
    if m is None:
        return None
    user, k = m.group(1) or m.group(4), m.group(2) or m.group(3)
    return int(user), int(k) if k else DEFAULT_K


class CachedRecommend:
    """Pure ASGI middleware: sends ``answer(user, k)`` when it has one, else calls the app."""

    def __init__(self, app: Any, answer: Callable[[int, int], bytes | None]) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/recommend" and scope["method"] == "GET":
            args = recommend_args(scope["query_string"])
            body = self.answer(*args) if args is not None else None
            if body is not None:
                await send({"type": "http.response.start", "status": 200,
                            "headers": [_HEADERS, (b"content-length", b"%d" % len(body))]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

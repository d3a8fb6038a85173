"""Engine errors as JSON with the CLI's one-line message and the right HTTP status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from recsys_tui.common.errors import RecsysError
from recsys_tui.core.engine import EngineError
from recsys_tui.core.event_log import EventLogError
from recsys_tui.core.feature_store import StoreError
from starlette.exceptions import HTTPException as StarletteHTTPException

UNKNOWN_PREFIXES = ("unknown user", "unknown item")


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def status_of(exc: RecsysError) -> int:
    """404 for an unknown user or item, 400 for any other refused request, 503 when the log or
    the store cannot serve (the engine falls back to the log when only the store is down)."""
    if isinstance(exc, EngineError):
        return 404 if str(exc).startswith(UNKNOWN_PREFIXES) else 400
    if isinstance(exc, EventLogError | StoreError):
        return 503
    return 500


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": one_line(message), "status": status}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        got = err.get("input")
        shown = "" if isinstance(got, dict) or got is None else f", got {str(got)[:40]!r}"
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}{shown}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    """Register the handlers: engine errors, bad input (400, not FastAPI's 422), HTTP errors."""

    @app.exception_handler(RecsysError)
    async def recsys_error(request: Request, exc: RecsysError) -> JSONResponse:
        return error_response(status_of(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail))

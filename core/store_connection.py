"""Connecting to the feature store: URL checks, redaction, and a total deadline on every call.

redis-py's ``socket_timeout`` bounds each ``recv``; a server that trickles its reply one byte at a
time never trips it. Every socket made here is wrapped so that each read and write also stops at
the deadline of the store call in progress (``deadline(seconds)``): past it the call raises
``redis.TimeoutError`` and the engine degrades as for a dead server.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import redis
from recsys_tui.common.errors import RecsysError
from redis.backoff import NoBackoff
from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.retry import Retry

SOCKET_TIMEOUT_S = 0.5
CONNECT_TIMEOUT_S = 0.5
CALL_DEADLINE_S = 1.5
"""Total wall-clock budget of one store call (all its round trips, retries included)."""
SCHEMES = ("redis", "rediss", "unix")
_SECRET_PARAMS = ("password", "pass", "pwd")
_INSECURE_CERT_REQS = ("none", "optional")

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("store_deadline", default=None)


class StoreError(RecsysError):
    """The feature store is unreachable or refused an operation."""


class StoreUrlError(StoreError):
    """A Redis URL that cannot be used as written (a usage error: exit 2)."""

    exit_code = 2


def redact(url: str | None) -> str:
    """The URL without credentials: ``redis://user:***@host:port/0``; a lone userinfo (``redis://SECRET@host``,
    which redis-py sends as a password-less user name, often a password typed in the wrong slot)
    becomes ``***``; ``?password=`` values too."""
    if not url:
        return "embedded (fakeredis)"
    try:
        parts = urlsplit(url)
        query = "&".join(f"{k}={'***' if k.lower() in _SECRET_PARAMS else v}"
                         for k, v in parse_qsl(parts.query, keep_blank_values=True))
        netloc = parts.netloc
        if not netloc and "@" in url:  # no "//" (e.g. "user:secret@host"): hide all credentials
            return f"***@{url.rpartition('@')[2]}"
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            name, _, password = user.partition(":")
            # a user name is shown only beside a real password; alone it may be a misplaced secret
            netloc = f"{name}:***@{host}" if name and password else f"***@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return "<unparseable redis url>"


@contextlib.contextmanager
def deadline(seconds: float = CALL_DEADLINE_S) -> Iterator[None]:
    """Every socket read/write of the store inside the block stops ``seconds`` from now (the
    tighter of an enclosing deadline and this one)."""
    until = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(until if outer is None else min(outer, until))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


class _DeadlineSocket:
    """A socket whose blocking calls never outlive the current store call's deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def __getattr__(self, name: str):
        return getattr(self._sock, name)

    def settimeout(self, value: float | None) -> None:
        self._sock.settimeout(value)

    def _call(self, fn, *args):
        until = _DEADLINE.get()
        if until is None:
            return fn(*args)
        left = until - time.monotonic()
        if left <= 0:
            raise TimeoutError("feature store call passed its deadline")
        base = self._sock.gettimeout()
        if base is not None and base <= left:  # the socket's own timeout is already the tighter one:
            return fn(*args)  # no change (each settimeout is a system call, four per event saved)
        self._sock.settimeout(left if base is None else min(base, left))
        try:
            return fn(*args)
        finally:
            self._sock.settimeout(base)

    def recv(self, *args):
        return self._call(self._sock.recv, *args)

    def recv_into(self, *args):
        return self._call(self._sock.recv_into, *args)

    def sendall(self, *args):
        return self._call(self._sock.sendall, *args)

    def send(self, *args):
        return self._call(self._sock.send, *args)


class _DeadlineTCP(Connection):
    def _connect(self):
        return _DeadlineSocket(super()._connect())


class _DeadlineTLS(SSLConnection):
    def _connect(self):
        return _DeadlineSocket(super()._connect())


class _DeadlineUnix(UnixDomainSocketConnection):
    def _connect(self):
        return _DeadlineSocket(super()._connect())


_CONNECTION = {"redis": _DeadlineTCP, "rediss": _DeadlineTLS, "unix": _DeadlineUnix}
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


def deadline_connection(scheme: str) -> type[Connection]:
    """The connection class whose sockets honour ``deadline`` for ``scheme`` (redis, rediss, unix)."""
    return _CONNECTION[scheme]


def check_url(url: str) -> tuple[str, list[str]]:
    """The URL's scheme and warnings (TLS verification off), or ``StoreUrlError`` (one line)."""
    shown = redact(url)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme if "://" in url else ""
        if scheme.lower() in CLUSTER_SCHEMES:
            from recsys_tui.core.cluster_store import parse_cluster_url

            parse_cluster_url(url)  # raises StoreUrlError (one line, redacted)
            return scheme.lower(), []
        if scheme not in SCHEMES:
            raise StoreUrlError(f"malformed Redis URL {shown!r}: use redis://, rediss://, unix:// "
                                "or redis+cluster://host:port[,host:port...]")
        _ = parts.port  # raises on a port that is not a number 0–65535
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise StoreUrlError(f"malformed Redis URL {shown!r} ({exc})") from None
    warnings = []
    for key, value in query:
        if key == "ssl_cert_reqs" and value.lower() in _INSECURE_CERT_REQS:
            warnings.append(f"TLS certificate verification is off (ssl_cert_reqs={value}): anyone on the "
                            "path can read and change the features; give ssl_ca_certs=PATH instead")
    if scheme != "rediss" and any(k.startswith("ssl") for k, _ in query):
        raise StoreUrlError(f"Redis URL {shown!r}: ssl_* options need a rediss:// URL")
    return scheme, warnings


def connect(url: str | None) -> tuple[redis.Redis, str, list[str]]:
    """A client, its kind (``fakeredis`` or ``redis``) and URL warnings; no network traffic yet."""
    if not url:
        import fakeredis

        return fakeredis.FakeRedis(), "fakeredis", []
    scheme, warnings = check_url(url)
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0), health_check_interval=30,
            connection_class=_CONNECTION[scheme],
        )
        pool = client.connection_pool  # build one connection object now (no traffic) so that
        pool.connection_class(**pool.connection_kwargs)  # an unknown query option fails here
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreUrlError(f"malformed Redis URL {redact(url)!r} ({exc})") from None
    return client, "redis", warnings

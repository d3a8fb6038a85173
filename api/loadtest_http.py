"""A lean keep-alive HTTP/1.1 client connection for the load test's measured requests.

The load generator shares the machine's cores with the server it measures, so its cost per
request is part of the result: a general client (aiohttp) spends several times the CPU of these
few lines, which only write a request and read one answer (``Content-Length`` or chunked) on one
connection at a time. Setup, audit and /metrics still use aiohttp.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024


class HttpError(ValueError):
    """The server's answer is not HTTP/1.1 this client can read."""


def _parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """(status, content length or None, chunked, server closes) of a response head."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    length, chunked, close = None, False, parts[0] == b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = value.strip().lower() == b"close"
    if length is not None and not 0 <= length <= MAX_BODY:
        raise HttpError(f"content-length {length} out of range")
    return int(parts[1]), length, chunked, close


class HttpConnection:
    """One connection to ``host:port``, (re)opened on demand; one request at a time."""

    def __init__(self, host: str, port: int, headers: dict[str, str], tls: bool = False,
                 timeout_s: float = 10.0) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._ssl = ssl_module.create_default_context() if tls else None
        shown = f"[{host}]" if ":" in host else host
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._fixed = f"Host: {shown}:{port}\r\n{extra}".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Send one request and return (status, body). Any failure closes the connection and
        raises (``OSError``, ``TimeoutError``, ``asyncio.IncompleteReadError``, ``ValueError``)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                if self._writer is None:
                    self._reader, self._writer = await asyncio.open_connection(
                        self.host, self.port, ssl=self._ssl, limit=MAX_HEAD)
                head = b"%s %s HTTP/1.1\r\n%s" % (method.encode(), target.encode(), self._fixed)
                if body is None:
                    self._writer.write(head + b"\r\n")
                else:
                    self._writer.write(b"%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                                       % (head, len(body), body))
                reader = self._reader
                status, length, chunked, close = _parse_head((await reader.readuntil(b"\r\n\r\n"))[:-4])
                if chunked:
                    data = await self._chunks(reader)
                elif length is not None:
                    data = await reader.readexactly(length)
                else:  # no length: the body runs to the end of the connection
                    data, close = await reader.read(MAX_BODY), True
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, data

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers are sent by the API
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise HttpError("chunked body too large")
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

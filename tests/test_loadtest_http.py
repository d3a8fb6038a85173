"""The load test's lean HTTP/1.1 connection against raw loopback servers that answer in each way it
must read: Content-Length, chunked, ``Connection: close``, and garbage."""

from __future__ import annotations

import asyncio

import pytest
from recsys_tui.api.loadtest_http import HttpConnection, HttpError


async def _serve(answers: list[bytes]):
    """A loopback server answering each request (any head, optional Content-Length body) with the
    next of ``answers``; returns (server, port, requests seen, connections accepted)."""
    seen: list[bytes] = []
    accepted = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted[0] += 1
        try:
            while answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                seen.append(head + await reader.readexactly(length))
                answer = answers.pop(0)
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer:
                    break
        except asyncio.IncompleteReadError:
            return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen, accepted


def _run(answers: list[bytes], calls):
    async def main():
        server, port, seen, accepted = await _serve(answers)
        conn = HttpConnection("127.0.0.1", port, {"Authorization": "Bearer t"}, timeout_s=5)
        try:
            return await calls(conn), seen, accepted[0]
        finally:
            conn.close()
            server.close()
            await server.wait_closed()

    return asyncio.run(main())


def test_keep_alive_with_lengths_and_chunks_on_one_connection():
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
               b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n"
               b"3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n",
               b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"]

    async def calls(conn):
        return [await conn.request("GET", "/recommend?user=1"),
                await conn.request("POST", "/events", b'{"user":1}'),
                await conn.request("GET", "/x")]

    got, seen, accepted = _run(answers, calls)
    assert got == [(200, b"hello"), (201, b"abcde"), (404, b"")]
    assert accepted == 1
    assert seen[0].startswith(b"GET /recommend?user=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Authorization: Bearer t\r\n" in seen[0]
    assert seen[1].endswith(b'Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{"user":1}')


def test_a_closing_server_gets_a_new_connection():
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nA",
               b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB"]

    async def calls(conn):
        return [await conn.request("GET", "/"), await conn.request("GET", "/")]

    got, _, accepted = _run(answers, calls)
    assert got == [(200, b"A"), (200, b"B")] and accepted == 2


@pytest.mark.parametrize("answer", [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n",
                                    b"HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n"])
def test_garbage_is_an_error(answer):
    async def calls(conn):
        with pytest.raises(HttpError):
            await conn.request("GET", "/")
        return True

    assert _run([answer], calls)[0] is True


def test_a_server_that_hangs_up_mid_answer_is_an_error():
    async def calls(conn):
        with pytest.raises(asyncio.IncompleteReadError):
            await conn.request("GET", "/")
        return True

    assert _run([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nshort"], calls)[0]

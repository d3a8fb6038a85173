"""A real TCP proxy on loopback that can misbehave: trickle replies, or drop the next reply.

Used in front of a real redis-server (the ``slow-redis`` scenario and the store tests) to show
that a slow server cannot block the engine (total deadline) and that a write whose reply was lost
is applied once. Every loop is bounded by ``stop()``; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

TRICKLE_DELAY_S = 0.3


@dataclass
class Proxy:
    """``127.0.0.1:port`` → ``upstream``; ``mode`` is ``pass``, ``trickle`` or ``drop_reply``."""

    upstream_port: int
    mode: str = "pass"
    port: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _socks: list[socket.socket] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Proxy:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._server.settimeout(0.1)
        self.port = self._server.getsockname()[1]
        self._spawn(self._accept)
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            for sock in (client, upstream):
                sock.settimeout(0.1)
                self._socks.append(sock)
            self._spawn(self._pump, client, upstream, False)
            self._spawn(self._pump, upstream, client, True)

    def _pump(self, src: socket.socket, dst: socket.socket, reply: bool) -> None:
        while not self._stop.is_set():
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            try:
                if reply and self.mode == "drop_reply":
                    with self._lock:
                        self.mode = "pass"
                    break  # the request reached the server; its reply never reaches the client
                if reply and self.mode == "trickle":
                    for n in range(len(data)):
                        if self._stop.wait(TRICKLE_DELAY_S):
                            return
                        dst.sendall(data[n:n + 1])
                else:
                    dst.sendall(data)
            except OSError:
                break
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def stop(self) -> None:
        self._stop.set()
        self._server.close()
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(2)

"""Real ``redis-server`` processes for tests: the fault suite's server (no persistence, free port)."""

from __future__ import annotations

from recsys_tui.faults.servers import REDIS_BINARY, free_port
from recsys_tui.faults.servers import Server as RedisServer

__all__ = ["REDIS_BINARY", "RedisServer", "free_port"]

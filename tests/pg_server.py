"""Real PostgreSQL and Redis Cluster servers for tests (see recsys_tui.faults.local_servers)."""

from __future__ import annotations

from recsys_tui.faults.local_servers import PostgresServer, RedisClusterServers, postgres_bin

__all__ = ["PostgresServer", "RedisClusterServers", "postgres_bin"]

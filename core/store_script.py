"""The feature store's write: one server-side Lua script, one round trip per event.

The script runs atomically on the server, so the check ("has this user's event already landed?")
and the update cannot be split by another writer: no WATCH/MULTI retry loop, no log query while a
transaction is open. Where the server has Redis Functions (Redis 7+, and fakeredis) the script is
a function of a library loaded once (``FUNCTION LOAD REPLACE``) and called with ``FCALL``; where it
has not (Redis < 7, or FUNCTION/FCALL refused by an ACL) it is sent with ``EVALSHA``
(``WriteScript``). The body is the same either way. On fakeredis this matters: every EVAL/EVALSHA
compiles the script again and runs Lua's full garbage collection (~0.19 ms of a ~0.49 ms write),
while a function is compiled once, when loaded. The script reads the user's watermark and counts
with one HMGET and writes them back with one HSET, so a typical event runs eight commands
(fakeredis spends ~20–30 µs of Python on each).

Keys (``KEYS``)::

    1 rs:v1:{u:N}:meta   2 rs:v1:{u:N}:recent   3 rs:v1:{u:N}:emb      -- the user's hash slot
    4 rs:v1:{g}:pop      5 rs:v1:{g}:wm         6 rs:v1:{g}:epoch   7 rs:v1:{g}:users   -- global

On one Redis node (and fakeredis) the script gets all seven keys and applies everything at once.
Redis Cluster refuses a script whose keys span slots: there the write is two slot-local scripts
(``recsys_tui.core.cluster_store``), global step first, each idempotent on its own.

Arguments (``ARGV``): log id, previous event id of the user in the log (0 = none), recent-list
cap, embedding bytes ("" = unchanged), embedding version, user id; then six per event in id order:
id, op (``+`` apply, ``-`` reverse an undone event, ``0`` nothing to reverse), kind, item id, the
recent-list entry, timestamp.

Replies ``{status, detail}``: ``applied``; ``already`` (every event sent is at or below
the user's ``last_event_id``); ``gap`` (the user has logged events the store lacks: resend from
``detail`` = the stored ``last_event_id``); ``unseeded`` (no epoch: rebuild from the log);
``foreign`` (the store belongs to another event log, ``detail`` = its id); ``lost`` (keys that must
exist are gone, e.g. evicted: rebuild from the log).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import redis

EVENT_FIELDS = 6
FIXED_ARGS = 6

APPLY_LUA = r"""
local meta, recent, emb = KEYS[1], KEYS[2], KEYS[3]
local unpack = unpack or table.unpack
local user = ARGV[6]
local owner = redis.call('HGET', KEYS[6], 'log')
if not owner then return {'unseeded', '0'} end
if owner ~= ARGV[1] then return {'foreign', owner} end
if redis.call('EXISTS', KEYS[4], KEYS[7]) < 2 then return {'lost', 'popularity or user registry'} end
local m = redis.call('HMGET', meta, 'last_event_id', 'n_rating', 'n_click', 'n_view')
local stored = m[1]
local last = tonumber(stored or '0')
local n = (#ARGV - 6) / 6
if last >= tonumber(ARGV[7 + (n - 1) * 6]) then return {'already', stored or '0'} end
local fresh = not stored
if fresh and redis.call('SISMEMBER', KEYS[7], user) == 1 then
  return {'lost', 'user ' .. user .. ' meta'}
end
if last < tonumber(ARGV[2]) then return {'gap', stored or '0'} end
local cap = tonumber(ARGV[3])
local count = {rating = tonumber(m[2] or '0'), click = tonumber(m[3] or '0'), view = tonumber(m[4] or '0')}
local touched = {}
local top, ts, length = nil, nil, 0
for i = 0, n - 1 do
  local b = 7 + i * 6
  if tonumber(ARGV[b]) > last then
    local op, kind, item, entry = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
    if op == '+' then
      count[kind] = count[kind] + 1
      touched[kind] = true
      length = redis.call('LPUSH', recent, entry)
      redis.call('ZINCRBY', KEYS[4], 1, item)
    elseif op == '-' then
      count[kind] = count[kind] - 1
      touched[kind] = true
      redis.call('LREM', recent, 1, entry)
      redis.call('ZINCRBY', KEYS[4], -1, item)
    end
    top, ts = ARGV[b], ARGV[b + 5]
  end
end
if length > cap then redis.call('LTRIM', recent, 0, cap - 1) end
local fields = {'last_event_id', top, 'updated', ts}
for _, kind in ipairs({'rating', 'click', 'view'}) do
  if touched[kind] then
    fields[#fields + 1] = 'n_' .. kind
    fields[#fields + 1] = count[kind]
  end
end
if ARGV[4] ~= '' then
  redis.call('SET', emb, ARGV[4])
  fields[#fields + 1] = 'emb_version'
  fields[#fields + 1] = ARGV[5]
end
redis.call('HSET', meta, unpack(fields))
if fresh then redis.call('SADD', KEYS[7], user) end
redis.call('ZADD', KEYS[5], 'GT', top, 'applied')
return {'applied', top}
"""

LIBRARY = f"recsys_tui_v1_{hashlib.sha1(APPLY_LUA.encode()).hexdigest()[:12]}"
"""The Redis Functions library holding ``APPLY_LUA``: named by the key schema (v1) and the body's
hash, so processes of two releases sharing a server never replace each other's function."""
FUNCTION = f"{LIBRARY}_apply"
LIBRARY_CODE = (f"#!lua name={LIBRARY}\n"
                f"redis.register_function('{FUNCTION}', function(KEYS, ARGV)\n{APPLY_LUA}\nend)\n")


def function_missing(exc: redis.RedisError) -> bool:
    """Is ``exc`` an FCALL of a function the server does not hold (a restart, FUNCTION FLUSH)?"""
    return isinstance(exc, redis.ResponseError) and "function not found" in str(exc).lower()


def functions_refused(exc: redis.RedisError) -> bool:
    """Is ``exc`` the server refusing FCALL or FUNCTION itself: no such command (Redis < 7, other
    servers) or an ACL without it? (A command refused *inside* the function is another error.)"""
    text = str(exc).lower()
    return isinstance(exc, redis.ResponseError) and (
        "unknown command" in text
        or (isinstance(exc, redis.exceptions.NoPermissionError) and ("fcall" in text or "function" in text)))


class WriteScript:
    """Runs ``APPLY_LUA`` in one round trip: ``FCALL`` where the server has Redis Functions, else
    ``EVALSHA``.

    A function the server lacks (restart, flush, first use) is loaded and the call resent, as
    redis-py's ``Script`` does for EVALSHA on NOSCRIPT; both are safe to resend because the call
    that failed did not run. A server that refuses FCALL or FUNCTION LOAD (too old, or an ACL)
    makes this writer use EVALSHA from then on (``fallback`` says why).
    """

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.script = client.register_script(APPLY_LUA)
        self.functions = True
        """Use FCALL (until the server refuses it)."""
        self.fallback: str | None = None
        """Why the writer uses EVALSHA (None while it uses FCALL)."""

    @property
    def command(self) -> str:
        """The command a write is sent with now: ``FCALL`` or ``EVALSHA``."""
        return "FCALL" if self.functions else "EVALSHA"

    def request(self, keys: Sequence[str], args: Sequence[object]) -> tuple[object, ...]:
        """The command that runs the script on ``keys`` and ``args``, for a raw ``send_command``."""
        head = ("FCALL", FUNCTION) if self.functions else ("EVALSHA", self.script.sha)
        return (*head, len(keys), *keys, *args)

    def __call__(self, keys: Sequence[str], args: Sequence[object]) -> Any:
        """Run the script (one round trip; a load and a resend when the server lacked it)."""
        if self.functions:
            try:
                return self.client.fcall(FUNCTION, len(keys), *keys, *args)
            except redis.ResponseError as exc:
                if function_missing(exc) and self._load():
                    return self.client.fcall(FUNCTION, len(keys), *keys, *args)
                if not function_missing(exc) and not self._refused(exc):
                    raise
        return self.script(keys=list(keys), args=list(args))

    def _load(self) -> bool:
        """Load the library (True), or fall back to EVALSHA when the server refuses it (False)."""
        try:
            self.client.function_load(LIBRARY_CODE, replace=True)
        except redis.ResponseError as exc:  # any refusal: the same body still runs as a script
            self._use_evalsha(exc)
            return False
        return True

    def _refused(self, exc: redis.ResponseError) -> bool:
        """Switch to EVALSHA if ``exc`` refuses FCALL itself; say whether it did."""
        if not functions_refused(exc):
            return False
        self._use_evalsha(exc)
        return True

    def _use_evalsha(self, exc: redis.ResponseError) -> None:
        self.functions = False
        self.fallback = str(exc).split("\n")[0][:120] or type(exc).__name__

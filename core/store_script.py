"""The feature store's write: one server-side Lua script, one round trip per event.

The script runs atomically on the server, so the check ("has this user's event already landed?")
and the update cannot be split by another writer: no WATCH/MULTI retry loop, no log query while a
transaction is open. It is sent with EVALSHA (redis-py's ``Script`` reloads it on NOSCRIPT). It
reads the user's watermark and counts with one HMGET and writes them back with one HSET, so a
typical event runs eight commands (fakeredis spends ~30–70 µs of Python on each).

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

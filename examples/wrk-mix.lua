-- Load mix for wrk against `recsys-tui serve` (run it on a throw-away copy of a home: events are logged).
--   wrk -t1 -c64 -d30s --latency -s examples/wrk-mix.lua http://127.0.0.1:8000
-- EVENTS_SHARE=0.1 (default) posts a rating or click for 10% of requests, the rest GET /recommend;
-- EVENTS_SHARE=0 measures /recommend alone. RECSYS_TUI_API_TOKEN, if set, is sent as a bearer token.
-- wrk prints "Non-2xx or 3xx responses: N" when any request failed; done() adds p50/p99/p99.9.

local events_share = tonumber(os.getenv("EVENTS_SHARE") or "0.1")
local token = os.getenv("RECSYS_TUI_API_TOKEN")
local counter = 0

function init(args)
  math.randomseed(os.time() + counter)
end

request = function()
  counter = counter + 1
  local headers = {}
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  if math.random() < events_share then
    headers["Content-Type"] = "application/json"
    local body
    if math.random() < 0.8 then
      body = string.format('{"user":%d,"item":%d,"kind":"rating","rating":%d}',
        math.random(1, 943), math.random(1, 1682), math.random(1, 5))
    else
      body = string.format('{"user":%d,"item":%d,"kind":"click"}', math.random(1, 943), math.random(1, 1682))
    end
    return wrk.format("POST", "/events", headers, body)
  end
  return wrk.format("GET", "/recommend?user=" .. math.random(1, 943) .. "&k=10", headers)
end

done = function(summary, latency, requests)
  io.write(string.format("requests/s %.1f  p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
    + summary.errors.timeout))
end

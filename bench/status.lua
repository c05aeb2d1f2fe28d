-- wrk -s bench/status.lua http://127.0.0.1:PORT -- API_KEY IDS_FILE
-- GET /status/{id} for job ids read from IDS_FILE (one per line), picked at random.
-- Prints one JSON line of results in done().

local ids = {}
local threads = {}

function setup(thread)
  thread:set("thread_number", #threads + 1)  -- a global of the thread's Lua state
  table.insert(threads, thread)
end

function init(args)
  wrk.headers["X-API-Key"] = args[1]
  for line in io.lines(args[2]) do
    if #line > 0 then table.insert(ids, line) end
  end
  math.randomseed(os.time() * 1000 + thread_number)
end

function request()
  return wrk.format("GET", "/status/" .. ids[math.random(1, #ids)])
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"rps":%.2f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
    '"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end

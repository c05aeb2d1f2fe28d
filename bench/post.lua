-- wrk -s bench/post.lua http://127.0.0.1:PORT -- API_KEY [PATH]
-- POSTs a valid /generate body whose customer_id differs on every request, so each
-- request creates a new job (the dedup path of identical in-flight requests is not what
-- is measured). Prints one JSON line of results in done().

local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = args[1]
  wrk.headers["Session-Id"] = "bench-session"
  path = args[2] or "/generate"
  math.randomseed(os.time() * 1000 + thread_id)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"type":"Feasibility_report","customer_id":"c-%d-%d-%d",' ..
    '"opportunity_id":"opp-bench","section_title":"Executive Summary"}',
    thread_id, counter, math.random(1, 1000000000))
  return wrk.format(nil, path, nil, body)
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

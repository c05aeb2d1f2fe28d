-- wrk -s bench/post.lua http://127.0.0.1:PORT -- API_KEY PATH RUN_ID
-- POSTs a valid /generate body whose customer_id differs on every request, so each
-- request creates a new job (the dedup path of identical in-flight requests is not what
-- is measured): customer_id = RUN_ID (unique per wrk run) - thread number - counter.
-- Prints one JSON line of results in done().

local counter = 0
local threads = {}

function setup(thread)
  -- A global of the thread's own Lua state (a `local` here would shadow it: every thread
  -- would then send the same ids, and half the requests would be deduplicated).
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = args[1]
  wrk.headers["Session-Id"] = "bench-session"
  path = args[2] or "/generate"
  run_id = args[3] or tostring(os.time())
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"type":"Feasibility_report","customer_id":"c-%s-%d-%d",' ..
    '"opportunity_id":"opp-bench","section_title":"Executive Summary"}',
    run_id, thread_number, counter)
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

-- wrk script for bench/overhead.py: a JSON GET, or a mix of that GET and the ingestion POST.
-- Usage: wrk -s wrk_overhead.lua URL -- <8-hex run nonce> <get|mixed>
-- "get":   GET /api/v1/monitoring/health without a token (JSON; the check is cached for a
--         second for anonymous callers).
-- "mixed": alternately that GET and POST /api/v1/analytics/action with a fresh event_id.
-- At the end it prints one line "BENCH_RESULT {json}" (the format bench/harness.py reads).

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  nonce = args[1] or "00000000"
  mode = args[2] or "get"
  sent = 0
  acked = 0
  get_request = wrk.format("GET", "/api/v1/monitoring/health")
end

function request()
  sent = sent + 1
  local n = sent
  if mode == "get" or n % 2 == 0 then
    return get_request
  end
  local body = string.format(
    '{"event_id":"%s-%04x-4000-8000-%012x","session_id":"s-%s-%d-%d",'
      .. '"action":"barber.viewed","properties":{"screen":"provider","position":%d}}',
    nonce, tid, n, nonce, tid, math.floor(n / 8), n % 20)
  return wrk.format("POST", "/api/v1/analytics/action",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer bench-ingest" }, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    acked = acked + 1
  end
end

function done(summary, latency, requests)
  local sent_total, acked_total = 0, 0
  for _, thread in ipairs(threads) do
    sent_total = sent_total + thread:get("sent")
    acked_total = acked_total + thread:get("acked")
  end
  io.write(string.format(
    'BENCH_RESULT {"duration_us":%d,"requests":%d,"sent":%d,"acked":%d,"acked_rows":%d,'
      .. '"status_errors":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.duration, summary.requests, sent_total, acked_total, acked_total,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end

-- wrk script for POST /api/v1/analytics/batch: the same pre-generated batch every time.
-- Usage: wrk -s wrk_batch.lua URL -- <path of the JSON body>
-- The events carry no event_id, so the server makes new ones and every request stores all
-- of its events; the count stored is read from each 207 answer ("stored":N) and summed.
-- At the end it prints one line "BENCH_RESULT {json}".

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  sent = 0
  acked = 0
  acked_rows = 0
  req = wrk.format()
end

function request()
  sent = sent + 1
  return req
end

function response(status, headers, body)
  if status == 207 then
    local stored = tonumber(string.match(body, '"stored":(%d+)'))
    if stored then
      acked = acked + 1
      acked_rows = acked_rows + stored
    end
  end
end

function done(summary, latency, requests)
  local sent_total, acked_total, rows_total = 0, 0, 0
  for _, thread in ipairs(threads) do
    sent_total = sent_total + thread:get("sent")
    acked_total = acked_total + thread:get("acked")
    rows_total = rows_total + thread:get("acked_rows")
  end
  io.write(string.format(
    'BENCH_RESULT {"duration_us":%d,"requests":%d,"sent":%d,"acked":%d,"acked_rows":%d,'
      .. '"status_errors":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.duration, summary.requests, sent_total, acked_total, rows_total,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end

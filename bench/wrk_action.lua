-- wrk script for POST /api/v1/analytics/action: every request a fresh event_id.
-- Usage: wrk -s wrk_action.lua URL -- <8-hex run nonce>
-- Each id is <nonce>-<thread>-4000-8000-<counter>, so ids never repeat within a run and
-- runs differ by their nonce. At the end it prints one line "BENCH_RESULT {json}".

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local actions = {
  "search", "provider_view", "open_app", "filter_price", "select_service",
  "share:whatsapp", "view_gallery", "map.open", "review_read", "favorite_add",
}
local screens = { "home", "search", "provider", "booking", "profile" }
local provinces = { "AR-C", "AR-B", "AR-X", "AR-S", "AR-M", "AR-T" }

function init(args)
  nonce = args[1] or "00000000"
  sent = 0
  acked = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  sent = sent + 1
  local n = sent
  local body = string.format(
    '{"event_id":"%s-%04x-4000-8000-%012x","session_id":"s-%s-%d-%d",'
      .. '"user_id":"u-%d","action":"%s","properties":{"screen":"%s",'
      .. '"province":"%s","provider_id":"p-%d","position":%d,"logged_in":%s}}',
    nonce, tid, n, nonce, tid, math.floor(n / 8), (n * 7919) % 50000,
    actions[n % #actions + 1], screens[n % #screens + 1], provinces[n % #provinces + 1],
    n % 400, n % 20, (n % 3 == 0) and "true" or "false")
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 202 then
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

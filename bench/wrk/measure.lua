-- wrk script for bench/run.py: counts response statuses and prints one line of JSON at the end.
-- With BENCH_POST_TOKEN set, it sends POST /books with a body that no other request repeats
-- (BENCH_RUN_ID tells runs apart, a counter tells requests apart).

local post_token = os.getenv("BENCH_POST_TOKEN")
local run_id = os.getenv("BENCH_RUN_ID") or "0"
local threads = {}
local sent = 0
statuses = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

if post_token then
  local headers = {
    ["Authorization"] = "Bearer " .. post_token,
    ["Content-Type"] = "application/json",
  }
  function request()
    sent = sent + 1
    local body = string.format(
      '{"title": "Book %s-%s-%d", "author": "Benchmark"}', run_id, thread_id, sent
    )
    return wrk.format("POST", "/books", headers, body)
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "statuses": {%s}, '
      .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, table.concat(parts, ", "),
    errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end

-- wrk script for bench/run: requests at a fixed rate on a timetable, so latency is measured at that rate.
--   wrk -t1 -c100 -d10s -s bench/fixed-rate.lua https://app1.vm.localhost:18443/ -- 5000
-- The argument is the rate in requests per second (one wrk thread: -t1). Request k is due at start + k/rate.
-- A connection that has its answer takes the next due time and waits for it (wrk's delay()), so a slow answer
-- does not hold back the timetable as long as some connection is free; a request that goes out more than 1 ms
-- after its due time (every connection was busy) is counted as late, which is when wrk's latency would leave
-- out waiting time (coordinated omission). The last line printed is
--   FIXED-RATE target=<req/s> achieved=<req/s> p50_us=<n> p99_us=<n> late=<n> sent=<n> max_lag_ms=<n>

local ffi = require("ffi")
ffi.cdef [[
struct bench_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clock_id, struct bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("struct bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1e3 + tonumber(timespec.tv_nsec) / 1e6
end

-- The timetable starts this long after the first connection is ready, so the others finish their handshakes
-- first: a forwarder busy with 200 handshakes would otherwise answer the first requests late.
local GRACE_MS = 1000
local LATE_MS = 1

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local interval_ms, next_due
rate, sent, late, max_lag_ms, first_due = 0, 0, 0, 0, nil

function init(args)
  rate = tonumber(args[1])
  if not rate or rate <= 0 then
    error("fixed-rate.lua needs the rate in requests per second after --")
  end
  interval_ms = 1000 / rate
end

function delay()
  local now = now_ms()
  if next_due == nil then
    next_due = now + GRACE_MS
    first_due = next_due
  end
  local due = next_due
  next_due = due + interval_ms
  sent = sent + 1
  if due >= now then
    return math.floor(due - now + 0.5)
  end
  local lag = now - due
  if lag > LATE_MS then
    late = late + 1
  end
  if lag > max_lag_ms then
    max_lag_ms = lag
  end
  return 0
end

-- The achieved rate counts the answers over the time from the first due time to the end of the run (done() is
-- called right after the threads stop), so connecting and the grace period do not dilute it.
function done(summary, latency, requests)
  local target, total_sent, total_late, lag, start = 0, 0, 0, 0, math.huge
  for _, thread in ipairs(threads) do
    target = target + thread:get("rate")
    total_sent = total_sent + thread:get("sent")
    total_late = total_late + thread:get("late")
    lag = math.max(lag, thread:get("max_lag_ms"))
    start = math.min(start, thread:get("first_due") or math.huge)
  end
  local seconds = (now_ms() - start) / 1e3
  io.write(string.format(
    "FIXED-RATE target=%d achieved=%.1f p50_us=%d p99_us=%d late=%d sent=%d max_lag_ms=%.1f\n",
    target, summary.requests / seconds, latency:percentile(50), latency:percentile(99),
    total_late, total_sent, lag))
end

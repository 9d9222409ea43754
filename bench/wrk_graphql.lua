-- wrk script: POST one GraphQL body over and over, count answers that carry "errors".
-- Usage: wrk -s bench/wrk_graphql.lua URL -- BODY_FILE TOKEN
-- At the end prints one line "BENCH_RESULT {json}" (latencies in microseconds) for
-- bench/load.py, and "BENCH_FIRST_ERROR <status> <body>" when some answer failed.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local body = file:read("*a")
  file:close()
  local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["Authorization"] = "Bearer " .. args[2],
  }
  prepared = wrk.format("POST", nil, headers, body)
  graphql_errors = 0
  first_error = ""
end

function request()
  return prepared
end

local function remember(status, body)
  if first_error == "" then
    first_error = status .. " " .. string.gsub(string.sub(body, 1, 400), "[\r\n]", " ")
  end
end

function response(status, headers, body)
  -- non-2xx answers are counted by wrk itself (errors.status); count GraphQL errors once
  if status < 200 or status >= 300 then
    remember(status, body)
  elseif string.find(body, '"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
    remember(status, body)
  end
end

function done(summary, latency, requests)
  local errors, sample = 0, ""
  for _, thread in ipairs(threads) do
    errors = errors + thread:get("graphql_errors")
    if sample == "" then
      sample = thread:get("first_error")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"graphql_errors":%d,"status_errors":%d,'
      .. '"socket_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, errors, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  if sample ~= "" then
    io.write("BENCH_FIRST_ERROR " .. sample .. "\n")
  end
end

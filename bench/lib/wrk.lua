-- wrk script of bench/run: what each request is comes from BENCH_MODE, and done() prints one
-- JSON line (WRKJSON) with the percentiles wrk's own summary lacks (p99.9) and the errors.
--   get      GET BENCH_PATH
--   get_ids  GET /jobs/{id} with ids drawn from the file BENCH_IDS (one per line)
--   batch    POST /jobs/batch with the body in the file BENCH_BODY
--   work     a worker: POST /queue/claim (one job), then POST /jobs/{id}/complete
local mode = os.getenv("BENCH_MODE") or "get"
local ids, body, pending = {}, nil, {}

local function read_file(path)
  local f = assert(io.open(path, "r"))
  local text = f:read("*a")
  f:close()
  return text
end

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  if mode == "get_ids" then
    for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
  elseif mode == "batch" then
    body = read_file(os.getenv("BENCH_BODY"))
  end
end

local json_headers = { ["Content-Type"] = "application/json" }

request = function()
  if mode == "get" then
    return wrk.format("GET", os.getenv("BENCH_PATH"))
  elseif mode == "get_ids" then
    return wrk.format("GET", "/jobs/" .. ids[math.random(#ids)])
  elseif mode == "batch" then
    return wrk.format("POST", "/jobs/batch", json_headers, body)
  else
    local job = table.remove(pending)
    if job then
      return wrk.format("POST", "/jobs/" .. job.id .. "/complete", json_headers,
        '{"lease_token":"' .. job.token .. '","result_label":"positive","result_score":0.9}')
    end
    return wrk.format("POST", "/queue/claim", json_headers, '{"worker":"bench","limit":1}')
  end
end

response = function(status, headers, text)
  if mode == "work" and status == 200 then
    local id = text:match('"id":"([%x%-]+)"')
    local token = text:match('"lease_token":"([%x%-]+)"')
    if id and token then pending[#pending + 1] = { id = id, token = token } end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,' ..
    '"socket_errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), e.connect + e.read + e.write + e.timeout, e.status))
end

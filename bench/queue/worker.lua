-- wrk script of bench/queue_throughput: each connection is a worker that claims a batch
-- (POST /queue/claim, limit BENCH_BATCH), then completes it: one POST /jobs/{id}/complete
-- per job (BENCH_COMPLETE=single) or one POST /queue/complete (BENCH_COMPLETE=batch). done()
-- prints "QUEUE completed=<jobs completed> seconds=<duration>".
local batch = tonumber(os.getenv("BENCH_BATCH") or "10")
local mode = os.getenv("BENCH_COMPLETE") or "single"
local todo = {}      -- {id, token} of claimed jobs still to complete (one connection per thread)
completed = 0  -- global: done() reads it per thread
local threads = {}
local headers = { ["Content-Type"] = "application/json" }
local claim_body = '{"worker":"bench","limit":' .. batch .. ',"lease_seconds":300}'
local last = nil

setup = function(thread) table.insert(threads, thread) end

request = function()
  if #todo == 0 then
    last = "claim"
    return wrk.format("POST", "/queue/claim", headers, claim_body)
  end
  if mode == "batch" then
    local parts = {}
    for i, job in ipairs(todo) do
      parts[i] = '{"id":"' .. job[1] .. '","lease_token":"' .. job[2] ..
                 '","result_label":"positive","result_score":0.9}'
    end
    last = "batch:" .. #todo
    todo = {}
    return wrk.format("POST", "/queue/complete", headers, '{"results":[' .. table.concat(parts, ",") .. ']}')
  end
  local job = table.remove(todo)
  last = "one"
  return wrk.format("POST", "/jobs/" .. job[1] .. "/complete", headers,
                    '{"lease_token":"' .. job[2] .. '","result_label":"positive","result_score":0.9}')
end

response = function(status, hdrs, body)
  if status ~= 200 then return end
  if last == "claim" then
    -- Every claimed job object carries "id" first and "lease_token" last.
    for id, token in body:gmatch('"id":"([%x%-]+)".-"lease_token":"([%x%-]+)"') do
      table.insert(todo, { id, token })
    end
  elseif last == "one" then
    completed = completed + 1
  else
    completed = completed + tonumber(body:match('"completed":(%d+)') or "0")
  end
end

done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("completed") or 0) end
  io.write(string.format("QUEUE completed=%d seconds=%.3f\n", total, summary.duration / 1e6))
end

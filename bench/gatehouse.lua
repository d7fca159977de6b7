-- wrk scenarios for Gatehouse's load harness (bench/harness.py runs wrk with this script).
--
-- One script for every scenario, chosen by environment variables because wrk hands
-- command-line arguments to the worker threads only, not to setup() or done():
--   GH_SCENARIO  live | me | items_list | items_create | login | refresh
--   GH_ACCOUNTS  file of seeded accounts, one per line: login form body, access token,
--                refresh token, separated by tabs
--   GH_THREADS   the -t given to wrk, so setup() can deal the accounts out
--   GH_DELAY_MS  optional pause between a connection's requests: a light, steady probe
--                instead of a closed loop that saturates the server
-- done() prints one line "GATEHOUSE_WRK {json}" that the harness parses.

local scenario = os.getenv("GH_SCENARIO")
local accounts_file = os.getenv("GH_ACCOUNTS")
local threads = tonumber(os.getenv("GH_THREADS") or "1")
local delay_ms = tonumber(os.getenv("GH_DELAY_MS") or "0")

-- Main Lua state: deal the accounts round-robin to the threads, so concurrent connections
-- use different users and every refresh chain belongs to exactly one thread.
local dealt = 0
local workers = {}
function setup(thread)
  workers[#workers + 1] = thread
  local mine, index = {}, 0
  if accounts_file then
    for line in io.lines(accounts_file) do
      if index % threads == dealt then
        mine[#mine + 1] = line
      end
      index = index + 1
    end
  end
  thread:set("dealt_accounts", table.concat(mine, "\n"))
  thread:set("first_request_unsent", dealt == 0)
  dealt = dealt + 1
end

local function bearer(token)
  return { ["Authorization"] = "Bearer " .. token }
end

local function json_headers(token)
  local headers = token and bearer(token) or {}
  headers["Content-Type"] = "application/json"
  return headers
end

-- How each scenario builds one account's request. `refresh` is absent: its request
-- changes with every response.
local builders = {
  me = function(a)
    return wrk.format("GET", "/api/v1/users/me", bearer(a.access))
  end,
  items_list = function(a)
    return wrk.format("GET", "/api/v1/items/", bearer(a.access))
  end,
  items_create = function(a)
    return wrk.format("POST", "/api/v1/items/", json_headers(a.access),
      '{"title":"load test item","description":"created by bench/run.sh"}')
  end,
  login = function(a)
    return wrk.format("POST", "/api/v1/login/access-token",
      { ["Content-Type"] = "application/x-www-form-urlencoded" }, a.form)
  end,
}

-- Worker threads: the dealt accounts, parsed once.
local accounts = {}
function init(args)
  for line in string.gmatch(dealt_accounts or "", "[^\n]+") do
    local form, access, refresh = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)$")
    accounts[#accounts + 1] = { form = form, access = access, refresh = refresh }
  end
end

if scenario == "live" then
  wrk.path = "/health/live"
elseif scenario == "refresh" then
  -- Refresh tokens are single-use. Each thread owns as many chains as it has connections;
  -- a request takes an unused token and its response puts the successor back, so no token
  -- is ever presented twice.
  local unused = nil
  function request()
    if first_request_unsent then
      -- wrk builds the first thread's first request only to check it (script_verify_request
      -- in wrk.c) and never sends it: it must not use up a chain.
      first_request_unsent = false
      return wrk.format("POST", "/api/v1/auth/refresh", json_headers(nil), "{}")
    end
    if unused == nil then
      unused = {}
      for _, a in ipairs(accounts) do unused[#unused + 1] = a.refresh end
    end
    local token = table.remove(unused) or "no-chain-left"
    return wrk.format("POST", "/api/v1/auth/refresh", json_headers(nil),
      '{"refresh_token":"' .. token .. '"}')
  end
  -- Statuses other than 200, by status, for done() to report.
  refused = {}
  function response(status, headers, body)
    local successor = body and body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if status == 200 and successor then
      unused[#unused + 1] = successor
    else
      refused[tostring(status)] = (refused[tostring(status)] or 0) + 1
    end
  end
else
  local build = builders[scenario] or error("unknown GH_SCENARIO " .. tostring(scenario))
  -- Requests are prepared once per account and cycled through.
  local prepared, next_index = nil, 0
  function request()
    if prepared == nil then
      prepared = {}
      for _, a in ipairs(accounts) do prepared[#prepared + 1] = build(a) end
      if #prepared == 0 then prepared[1] = wrk.format() end
    end
    next_index = next_index % #prepared + 1
    return prepared[next_index]
  end
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local by_status, refused = {}, {}
  for _, thread in ipairs(workers) do
    for status, count in pairs(thread:get("refused") or {}) do
      by_status[status] = (by_status[status] or 0) + count
    end
  end
  for status, count in pairs(by_status) do
    refused[#refused + 1] = string.format('"%s":%d', status, count)
  end
  io.write(string.format(
    'GATEHOUSE_WRK {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"refused":{%s}}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(refused, ",")))
end

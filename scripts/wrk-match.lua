-- wrk script: POST /api/match with a rotating set of statements.
-- Statements come from the file named by $STATEMENTS (one per line; a TSV's last column is used),
-- else from the built-in list below.
--   wrk -t2 -c8 -d10s -s scripts/wrk-match.lua http://127.0.0.1:8080/api/match

local statements = {
  "We are fully committed to the amnesty decree",
  "The Islamic Emirate issued an amnesty for all government employees",
  "The video of the execution in Faryab is fake",
  "We have no grudges against anyone",
  "The amnesty is not general",
  "Former security forces will not be harassed",
}

local function json_string(s)
  s = s:gsub('\\', '\\\\'):gsub('"', '\\"'):gsub('[%c]', ' ')
  return '"' .. s .. '"'
end

local path = os.getenv("STATEMENTS")
if path and path ~= "" then
  local loaded = {}
  for line in io.lines(path) do
    local last = line:match("([^\t]*)$")
    if last and last:match("%S") then loaded[#loaded + 1] = last end
  end
  if #loaded > 0 then statements = loaded end
end

local bodies = {}
for i, s in ipairs(statements) do
  bodies[i] = '{"text": ' .. json_string(s) .. ', "limit": 5}'
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local n = 0
request = function()
  n = n % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[n])
end
-- wrk's summary reports "Non-2xx or 3xx responses" when any request fails.

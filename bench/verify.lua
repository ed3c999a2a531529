-- wrk script: POST /verify/token with a wrong code, skew 1. With DISTINCT
-- set, each request carries one of that many distinct hex secrets in turn,
-- so that no secret reaches the throttle.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local distinct = tonumber(os.getenv("DISTINCT") or "0")
local fixed = '{"secret":"3132333435363738393031323334353637383930","encoding":"hex","token":"000000","skew":1}'
local i = 0

request = function()
  if distinct == 0 then
    return wrk.format(nil, "/verify/token", nil, fixed)
  end
  i = (i % distinct) + 1
  local body = string.format('{"secret":"%040x","encoding":"hex","token":"000000","skew":1}', i)
  return wrk.format(nil, "/verify/token", nil, body)
end

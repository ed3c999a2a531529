-- wrk script: POST /verify/token with a wrong code, skew 1, each request
-- for one of DISTINCT (default 100,000) distinct base32 secrets in turn,
-- so that no secret reaches the guard's throttle.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local distinct = tonumber(os.getenv("DISTINCT") or "100000")
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
local i = 0

-- secret is a 32-character base32 secret (20 bytes) made from n.
local function secret(n)
  local tail = {}
  for k = 1, 8 do
    local d = n % 32
    n = (n - d) / 32
    tail[k] = alphabet:sub(d + 1, d + 1)
  end
  return "GEZDGNBVGY3TQOJQGEZDGNBV" .. table.concat(tail)
end

request = function()
  i = (i % distinct) + 1
  local body = '{"secret":"' .. secret(i) .. '","token":"000000","skew":1}'
  return wrk.format(nil, "/verify/token", nil, body)
end

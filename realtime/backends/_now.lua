-- Now in ms by the Redis clock (so the workers' clocks do not matter). Shared by the
-- scripts that keep expiries in data (presence, readers, the append's wake-ups).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

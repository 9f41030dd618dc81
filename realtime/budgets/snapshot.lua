-- Budget, used and live holds, reclaiming expired holds first (a dead worker's).
-- KEYS as in reserve.lua. Returns {budget, used, reserved} or {-1}.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
for _, rid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], rid)
  redis.call('HDEL', KEYS[3], rid)
end
local budget = tonumber(redis.call('HGET', KEYS[1], 'budget'))
if not budget then return {-1} end
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
local reserved = 0
for _, v in ipairs(redis.call('HVALS', KEYS[3])) do reserved = reserved + tonumber(v) end
return {budget, used, reserved}

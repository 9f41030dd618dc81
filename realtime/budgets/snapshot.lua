-- Budget, used and live holds, reclaiming expired holds first (a dead worker's).
-- KEYS as in _holds.lua. Returns {budget, used, reserved} or {-1}.
reclaim(server_now())
local budget = tonumber(redis.call('HGET', KEYS[1], 'budget'))
if not budget then return {-1} end
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
return {budget, used, reserved_total()}

-- Add tokens to a budget; warnings may fire again once the new budget is nearly spent.
-- KEYS[1] budget hash. ARGV: tokens. Returns the new budget or -1.
local budget = tonumber(redis.call('HGET', KEYS[1], 'budget'))
if not budget then return -1 end
budget = budget + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'budget', budget)
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
for _, level in ipairs({80, 95}) do
  if used * 100 < level * budget then redis.call('HDEL', KEYS[1], 'w' .. level) end
end
return budget

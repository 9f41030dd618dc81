-- Add tokens to a budget; warnings may fire again once the new budget is nearly spent
-- (mirrors realtime/budgets/ledger.py Ledger.extend).
-- KEYS[1] budget hash. ARGV: tokens, then the warning levels from ARGV[2] (see
-- _levels.lua). Returns the new budget or -1.
local budget = tonumber(redis.call('HGET', KEYS[1], 'budget'))
if not budget then return -1 end
budget = budget + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'budget', budget)
local percent = percent_spent(tonumber(redis.call('HGET', KEYS[1], 'used') or '0'), budget)
for _, level in ipairs(read_levels(2)) do
  if percent < level then redis.call('HDEL', KEYS[1], 'w' .. level) end
end
return budget

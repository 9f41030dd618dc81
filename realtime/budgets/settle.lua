-- Settle one call; mirrors realtime/budgets/ledger.py Ledger.settle.
-- KEYS as in _holds.lua. ARGV: reply_id, input_tokens, output_tokens, then the warning
-- levels from ARGV[4] (see _levels.lua).
-- Returns {charged, used, budget, uncharged, {levels crossed for the first time}} or {-1}.
local budget = tonumber(redis.call('HGET', KEYS[1], 'budget'))
if not budget then return {-1} end
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
local real = math.max(tonumber(ARGV[2]), 0) + math.max(tonumber(ARGV[3]), 0)
local hold = redis.call('HGET', KEYS[3], ARGV[1])
local cap
if hold then
  cap = tonumber(hold)
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  cap = math.max(budget - used - reserved_total(), 0)
end
local charged = math.min(real, cap)
used = used + charged
redis.call('HSET', KEYS[1], 'used', used)
local percent = percent_spent(used, budget)
local crossed = {}
for _, level in ipairs(read_levels(4)) do
  local flag = 'w' .. level
  if percent >= level and redis.call('HGET', KEYS[1], flag) ~= '1' then
    redis.call('HSET', KEYS[1], flag, '1')
    crossed[#crossed + 1] = level
  end
end
return {charged, used, budget, real - charged, crossed}

-- Settle one call; mirrors realtime/budgets/ledger.py Ledger.settle.
-- KEYS as in reserve.lua. ARGV: reply_id, input_tokens, output_tokens
-- Returns {charged, used, budget, crossed80, crossed95, uncharged} or {-1}.
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
  local reserved = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[3])) do reserved = reserved + tonumber(v) end
  cap = math.max(budget - used - reserved, 0)
end
local charged = math.min(real, cap)
used = used + charged
redis.call('HSET', KEYS[1], 'used', used)
local crossed = {0, 0}
local levels = {80, 95}
for i, level in ipairs(levels) do
  local flag = 'w' .. level
  if used * 100 >= level * budget and redis.call('HGET', KEYS[1], flag) ~= '1' then
    redis.call('HSET', KEYS[1], flag, '1')
    crossed[i] = 1
  end
end
return {charged, used, budget, crossed[1], crossed[2], real - charged}

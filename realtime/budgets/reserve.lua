-- Reserve tokens for one call; mirrors realtime/budgets/ledger.py Ledger.reserve.
-- KEYS as in _holds.lua. ARGV: reply_id, input_tokens, max_tokens, min_reply_tokens,
-- ttl_seconds, then optionally budget, used and the budget key's TTL: the budget is set
-- up with them first (_set_up.lua), as ensure.lua does. Returns {1, amount, max_tokens,
-- used, budget} reserved (the ledger's standing as the hold was made), {0, available}
-- refused, {-1} unknown session (not set up, none given).
if ARGV[6] then set_up(ARGV[6], ARGV[7], ARGV[8]) end
local now = server_now()
reclaim(now)
local budget = tonumber(redis.call('HGET', KEYS[1], 'budget'))
if not budget then return {-1} end
local input = tonumber(ARGV[2])
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
local existing = redis.call('HGET', KEYS[3], ARGV[1])
if existing then
  return {1, tonumber(existing), tonumber(existing) - input, used, budget}
end
local available = math.max(budget - used - reserved_total(), 0)
if available < input + tonumber(ARGV[4]) then return {0, available} end
local reply = math.min(tonumber(ARGV[3]), available - input)
local amount = input + reply
local ttl = tonumber(ARGV[5])
redis.call('HSET', KEYS[3], ARGV[1], amount)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
-- The holds outlive no reply by much; the budget hash lives as long as the session.
redis.call('EXPIRE', KEYS[2], math.ceil(ttl) * 2)
redis.call('EXPIRE', KEYS[3], math.ceil(ttl) * 2)
return {1, amount, reply, used, budget}

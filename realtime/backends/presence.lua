-- KEYS[1] students zset, KEYS[2] observers zset (member conn_id, score = expiry in ms,
-- by the Redis clock so workers' clocks do not matter).
-- ARGV: op ('touch'|'leave'|'get'), conn_id, is_student ('1'|'0'), ttl_ms.
-- Returns {students online, observers online}.
local now = now_ms()
local op = ARGV[1]
if op == 'touch' then
  local mine, other = KEYS[2], KEYS[1]
  if ARGV[3] == '1' then mine, other = KEYS[1], KEYS[2] end
  local ttl = tonumber(ARGV[4])
  redis.call('ZADD', mine, now + ttl, ARGV[2])
  redis.call('ZREM', other, ARGV[2])
  if redis.call('PTTL', mine) < ttl then redis.call('PEXPIRE', mine, ttl) end
elseif op == 'leave' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
if op ~= 'get' then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
end
return {redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf'),
        redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')}

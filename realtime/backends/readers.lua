-- KEYS[1] a session's readers hash (reader id -> expiry in ms by the Redis clock, see
-- _now.lua), KEYS[2] the reader's wake stream. ARGV: reader id,
-- ttl_ms. ttl_ms > 0 registers or renews the reader; 0 unregisters it and drops its wake
-- stream. The append script wakes every registered reader but the appender.
local ttl = tonumber(ARGV[2])
if ttl == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], now_ms() + ttl)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1

-- KEYS[4] reply lock, KEYS[5] stop flag.
-- ARGV: window, idle_ttl_ms, reply_id, json, durable flag.
-- Appends the reply.stop event only while reply_id owns the lock and was not stopped yet.
-- Returns its seq, 0 when there is nothing to do.
if redis.call('HEXISTS', KEYS[1], 'epoch') == 0 then
  return redis.error_reply('NOLOG session log missing')
end
if redis.call('GET', KEYS[4]) ~= ARGV[3] or redis.call('GET', KEYS[5]) == ARGV[3] then
  return 0
end
local ttl = redis.call('PTTL', KEYS[4])
if ttl > 0 then
  redis.call('SET', KEYS[5], ARGV[3], 'PX', ttl)
else
  redis.call('SET', KEYS[5], ARGV[3])
end
local seq = append_events(ARGV[1], ARGV[2], 4, 1)
return seq

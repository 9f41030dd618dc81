-- KEYS[5] reply lock, KEYS[6] stop flag (KEYS[1..4] as in _append.lua).
-- ARGV: window, idle_ttl_ms, the appender's reader id, reply_id, json, durable flag.
-- Appends the reply.stop event only while reply_id owns the lock and was not stopped yet.
-- Returns {its seq, the log's epoch} (the worker hands it to its own subscribers, as an
-- append), 0 when there is nothing to do.
if redis.call('HEXISTS', KEYS[1], 'epoch') == 0 then
  return redis.error_reply('NOLOG session log missing')
end
if redis.call('GET', KEYS[5]) ~= ARGV[4] or redis.call('GET', KEYS[6]) == ARGV[4] then
  return 0
end
local ttl = redis.call('PTTL', KEYS[5])
if ttl > 0 then
  redis.call('SET', KEYS[6], ARGV[4], 'PX', ttl)
else
  redis.call('SET', KEYS[6], ARGV[4])
end
local seq, epoch = append_events(ARGV[1], ARGV[2], ARGV[3], 5, 1)
return {seq, epoch}

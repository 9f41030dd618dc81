-- KEYS[1] meta, KEYS[2] log, KEYS[3] durable. ARGV: floor_seq, new epoch, idle_ttl_ms.
-- Creates the log when missing: the counter continues above the SQL floor and above
-- anything that survived (a durable stream not yet flushed), and the stale live window of
-- the lost epoch is dropped. Returns {epoch, last_seq, first_seq, created}.
local created = 0
if redis.call('HEXISTS', KEYS[1], 'epoch') == 0 then
  local seq = tonumber(ARGV[1])
  for _, key in ipairs({KEYS[2], KEYS[3]}) do
    local top = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
    if top[1] then
      local s = tonumber(string.match(top[1][1], '^(%d+)'))
      if s > seq then seq = s end
    end
  end
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'seq', seq)
  created = 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local last = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local first = last + 1
if head[1] then first = tonumber(string.match(head[1][1], '^(%d+)')) end
return {epoch, last, first, created}

-- The log's {epoch, last_seq, first_seq}, or nil. KEYS[1] meta, KEYS[2] log. Read-only.
local function log_info()
  local epoch = redis.call('HGET', KEYS[1], 'epoch')
  if not epoch then return nil end
  local last = tonumber(redis.call('HGET', KEYS[1], 'seq'))
  local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
  local first = last + 1
  if head[1] then first = tonumber(string.match(head[1][1], '^(%d+)')) end
  return {epoch, last, first}
end

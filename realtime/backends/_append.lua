-- Shared by append.lua and stop.lua (concatenated in front of them at load time).
-- KEYS[1] meta hash {epoch, seq}, KEYS[2] live log stream, KEYS[3] durable stream.
-- Appends n events whose (json, durable flag) pairs start at ARGV[at]; returns the first seq
-- and the log's epoch (nil when the log is missing).
-- Every check happens before the first write: Redis does not roll back a failed script.
local function append_events(window, idle_ttl_ms, at, n)
  local epoch = redis.call('HGET', KEYS[1], 'epoch')
  if not epoch then
    return nil
  end
  local last = redis.call('HINCRBY', KEYS[1], 'seq', n)
  local first = last - n + 1
  for i = 0, n - 1 do
    local id = string.format('%d-0', first + i)
    local json = ARGV[at + 2 * i]
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', window, id, 'e', json, 'x', epoch)
    if ARGV[at + 2 * i + 1] == '1' then
      redis.call('XADD', KEYS[3], id, 'e', json, 'x', epoch)
    end
  end
  redis.call('PEXPIRE', KEYS[1], idle_ttl_ms)
  redis.call('PEXPIRE', KEYS[2], idle_ttl_ms)
  if redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('PEXPIRE', KEYS[3], idle_ttl_ms)
  end
  return first, epoch
end

-- Shared by append.lua and stop.lua (concatenated in front of them at load time, after
-- _now.lua).
-- KEYS[1] meta hash {epoch, seq}, KEYS[2] live log stream, KEYS[3] durable stream,
-- KEYS[4] the readers hash (see readers.lua).
-- Appends n events whose (json, durable flag) pairs start at ARGV[at], then wakes every
-- registered reader but ``me`` (the appender's reader id); returns the first seq and the
-- log's epoch (nil when the log is missing).
-- Every check happens before the first write: Redis does not roll back a failed script.

-- One entry in the wake stream of each reader registered in the session but ``me``; an
-- expired registration is dropped. A wake stream is ``<readers key minus 'readers'>wake:<id>``,
-- in the session's slot (its hash tag), so a Cluster runs this on the session's node.
local function wake_readers(me, idle_ttl_ms)
  local readers = redis.call('HGETALL', KEYS[4])
  if readers[1] == nil or (readers[3] == nil and readers[1] == me) then
    return  -- nobody else reads this session: the common case on one worker
  end
  local now = now_ms()
  local base = string.sub(KEYS[4], 1, -8) .. 'wake:'
  for i = 1, #readers, 2 do
    local id = readers[i]
    if id ~= me then
      if tonumber(readers[i + 1]) < now then
        redis.call('HDEL', KEYS[4], id)
      else
        local key = base .. id
        redis.call('XADD', key, 'MAXLEN', '1', '*', 'w', '1')
        redis.call('PEXPIRE', key, idle_ttl_ms)
      end
    end
  end
end

local function append_events(window, idle_ttl_ms, me, at, n)
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
  wake_readers(me, idle_ttl_ms)
  return first, epoch
end

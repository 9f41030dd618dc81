-- Where the log stands and the first entries after seq ``after`` (at most ``limit``):
-- {{epoch, last_seq, first_seq}, XRANGE's entries}, or nil. KEYS[1] meta, KEYS[2] log
-- (as log_info). Read-only.
local function log_since(after, limit)
  local info = log_info()
  if not info then return nil end
  local start = tostring(tonumber(after) + 1) .. '-0'
  return {info, redis.call('XRANGE', KEYS[2], start, '+', 'COUNT', tonumber(limit))}
end

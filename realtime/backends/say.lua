-- A say's first step in one round trip. KEYS[1] meta, KEYS[2] log, KEYS[3] the reply
-- lock, KEYS[4] the say's claim. ARGV: reply_id, lock ttl_ms, after (a seq), limit,
-- claim ttl_ms. Takes the lock (SET NX PX), reads where the log stands and the entries
-- after ``after`` (as since.lua), and only with the lock taken claims the say (as
-- claim.lua). Returns {1 taken / 0 held, {info, entries} or nil, claim or nil}.
local taken = redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2])
local since = false
local info = log_info()
if info then
  local start = tostring(tonumber(ARGV[3]) + 1) .. '-0'
  since = {info, redis.call('XRANGE', KEYS[2], start, '+', 'COUNT', tonumber(ARGV[4]))}
end
if not taken then return {0, since, false} end
local recorded = redis.call('GET', KEYS[4])
if not recorded then redis.call('SET', KEYS[4], '', 'PX', ARGV[5]) end
return {1, since, recorded or false}

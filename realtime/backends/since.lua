-- KEYS[1] meta, KEYS[2] log. ARGV: after (a seq), limit. Where the log stands and the
-- first entries after ``after``, in one round trip: {{epoch, last_seq, first_seq},
-- XRANGE's entries} or nil. Read-only.
local info = log_info()
if not info then return nil end
local start = tostring(tonumber(ARGV[1]) + 1) .. '-0'
return {info, redis.call('XRANGE', KEYS[2], start, '+', 'COUNT', tonumber(ARGV[2]))}

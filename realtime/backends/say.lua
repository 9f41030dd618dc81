-- A say's first step in one round trip. KEYS[1] meta, KEYS[2] log, KEYS[3] the reply
-- lock, KEYS[4] the say's claim. ARGV: reply_id, lock ttl_ms, after (a seq), limit,
-- claim ttl_ms. Takes the lock (SET NX PX), reads where the log stands and the entries
-- after ``after`` (log_since), and only with the lock taken claims the say (claim).
-- Returns {1 taken / 0 held, {info, entries} or nil, the claim's answer or nil}.
local taken = redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2])
local since = log_since(ARGV[3], ARGV[4]) or false
if not taken then return {0, since, false} end
return {1, since, claim(KEYS[4], ARGV[5])}

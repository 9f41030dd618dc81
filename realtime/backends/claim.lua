-- KEYS[1] the claim. ARGV[1] ttl_ms. Claim it unless claimed: false (nil) when this call
-- claimed it, else what is recorded ("" while the first caller is still at work).
local recorded = redis.call('GET', KEYS[1])
if recorded then return recorded end
redis.call('SET', KEYS[1], '', 'PX', ARGV[1])
return false

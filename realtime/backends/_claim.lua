-- Claim ``key`` for ``ttl_ms`` unless claimed: false (nil) when this call claimed it,
-- else what is recorded ("" while the first caller is still at work).
local function claim(key, ttl_ms)
  local recorded = redis.call('GET', key)
  if recorded then return recorded end
  redis.call('SET', key, '', 'PX', ttl_ms)
  return false
end

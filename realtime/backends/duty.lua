-- KEYS[1] a duty's key. ARGV: holder, ttl_ms. ttl_ms > 0: take the duty if free, or extend
-- it if the holder has it (1), else 0. ttl_ms 0: compare-and-delete (give it up).
local held = redis.call('GET', KEYS[1])
if tonumber(ARGV[2]) == 0 then
  if held == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return 0
end
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1

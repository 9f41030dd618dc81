-- KEYS[1] reply lock, KEYS[2] stop flag. ARGV[1] reply_id. Compare-and-delete.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1

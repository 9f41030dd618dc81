-- Set the budget up unless it exists (then the first values stay) and keep it alive;
-- what follows (snapshot.lua) answers where it stands. KEYS as in _holds.lua.
-- ARGV: budget, used, the key's TTL in seconds.
redis.call('HSETNX', KEYS[1], 'budget', ARGV[1])
redis.call('HSETNX', KEYS[1], 'used', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])

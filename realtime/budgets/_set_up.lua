-- Shared by ensure.lua and reserve.lua (concatenated in front of them at load time).
-- Set the budget hash (KEYS[1]) up unless it exists, then the first values stay, and keep
-- it alive for `ttl` seconds more.
local function set_up(budget, used, ttl)
  redis.call('HSETNX', KEYS[1], 'budget', budget)
  redis.call('HSETNX', KEYS[1], 'used', used)
  redis.call('EXPIRE', KEYS[1], ttl)
end

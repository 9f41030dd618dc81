-- Shared by reserve.lua, settle.lua and snapshot.lua (concatenated in front of them at load
-- time); mirrors realtime/budgets/ledger.py Ledger.reclaim / Ledger.reserved.
-- KEYS[1] budget hash {budget, used, w<level> flags}; KEYS[2] hold expiries (zset
-- reply_id -> expires at, Redis time); KEYS[3] hold amounts (hash reply_id -> tokens).

-- Seconds on the Redis clock: every worker's leases expire on the same one.
local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1e6
end

-- Drop the holds whose lease ran out by `now` (their worker died before settling).
local function reclaim(now)
  for _, rid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
    redis.call('ZREM', KEYS[2], rid)
    redis.call('HDEL', KEYS[3], rid)
  end
end

-- Tokens held by the reservations still in KEYS[3].
local function reserved_total()
  local reserved = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[3])) do reserved = reserved + tonumber(v) end
  return reserved
end

-- ARGV: window, idle_ttl_ms, n, then n pairs (json, durable '1'|'0'). Returns the first seq.
local first = append_events(ARGV[1], ARGV[2], 4, tonumber(ARGV[3]))
if not first then
  return redis.error_reply('NOLOG session log missing')
end
return first

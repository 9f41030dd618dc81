-- ARGV: window, idle_ttl_ms, the appender's reader id, n, then n pairs (json, durable
-- '1'|'0').
-- Returns {first seq, epoch}: the epoch lets the worker hand the events to its own
-- subscribers at once (see StreamReader.appended).
local first, epoch = append_events(ARGV[1], ARGV[2], ARGV[3], 5, tonumber(ARGV[4]))
if not first then
  return redis.error_reply('NOLOG session log missing')
end
return {first, epoch}

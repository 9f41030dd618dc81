-- Forget the durable stream KEYS[1]'s entries below ARGV[1] (the id after the last seq
-- the flusher committed; run for every session of a commit at once, see
-- ScriptPipe.run_many).
return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])

-- The first ARGV[1] entries above seq 0 of the durable stream KEYS[1] (the flusher's look
-- at one session; run for many sessions at once, see ScriptPipe.run_many).
return redis.call('XRANGE', KEYS[1], '1-0', '+', 'COUNT', ARGV[1])

-- KEYS[1] meta, KEYS[2] log. ARGV: after (a seq), limit. log_since in one round trip.
return log_since(ARGV[1], ARGV[2])

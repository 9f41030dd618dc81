-- Set the budget up (_set_up.lua); what follows (snapshot.lua) answers where it stands.
-- KEYS as in _holds.lua. ARGV: budget, used, the key's TTL in seconds.
set_up(ARGV[1], ARGV[2], ARGV[3])

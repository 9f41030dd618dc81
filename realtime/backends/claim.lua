-- KEYS[1] the claim. ARGV[1] ttl_ms. See _claim.lua.
return claim(KEYS[1], ARGV[1])

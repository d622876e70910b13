--[[
  Forgets leases (a Cluster's claims missed or settled, a takeover's claim already settled).
  Input:
    KEYS[1] the lease index zset   KEYS[2] its info hash   KEYS[3] its started set
    ARGV[1...] tokens
  Output:
    1
]]
--- @include "unlease"
local l = { z = KEYS[1], info = KEYS[2], started = KEYS[3] }
for i = 1, #ARGV do unlease(l, ARGV[i]) end
return 1

--[[
  Forgets leases (a Cluster's claims missed or settled, a takeover's claim already settled).
  Input:
    KEYS[1] the lease index zset (a started send's lease scored end + 0.5)   KEYS[2] its info hash
    ARGV[1...] tokens
  Output:
    1
]]
--- @include "unlease"
local l = { z = KEYS[1], info = KEYS[2] }
for i = 1, #ARGV do unlease(l, ARGV[i]) end
return 1

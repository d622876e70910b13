--[[
  A Cluster: records the leases of a chunk's claims, by this node's clock, before they are made.
  Input:
    KEYS[1] the lease index zset (a started send's lease scored end + 0.5)   KEYS[2] its info hash
    ARGV token leaseMs info (the claim's JSON), for each claim
  Output:
    1
]]
--- @include "lease"
local l = { z = KEYS[1], info = KEYS[2] }
for i = 1, #ARGV, 3 do lease(l, ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return 1

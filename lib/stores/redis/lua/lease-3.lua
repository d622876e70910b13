--[[
  A Cluster: records the leases of a chunk's claims, by this node's clock, before they are made.
  Input:
    KEYS[1] the lease index zset   KEYS[2] its info hash   KEYS[3] its started set
    ARGV token leaseMs info (the claim's JSON), for each claim
  Output:
    1
]]
--- @include "lease"
local l = { z = KEYS[1], info = KEYS[2], started = KEYS[3] }
for i = 1, #ARGV, 3 do lease(l, ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return 1

--[[
  One Redis: lets go of a held claim and forgets its lease.
  Input:
    KEYS[1] the user's claims hash
    KEYS[2] the lease index zset   KEYS[3] its info hash
    ARGV[1] field (kind|id)   ARGV[2] day   ARGV[3] token
  Output:
    1, or 0 if not held
]]
--- @include "release"
--- @include "unlease"
if release(KEYS[1], { field = ARGV[1], day = ARGV[2], token = ARGV[3] }) == 0 then return 0 end
unlease({ z = KEYS[2], info = KEYS[3] }, ARGV[3])
return 1

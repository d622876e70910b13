--[[
  Lets go of a held claim, nothing else changed (its lease is forgotten apart, in a Cluster).
  Input:
    KEYS[1] the user's claims hash
    ARGV[1] field (kind|id)   ARGV[2] day   ARGV[3] token
  Output:
    1, or 0 if not held
]]
--- @include "release"
return release(KEYS[1], { field = ARGV[1], day = ARGV[2], token = ARGV[3] })

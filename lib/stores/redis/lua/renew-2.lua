--[[
  Extends the leases still recorded, and marks their sends started. A takeover renames a lease in
  one step (takeExpired), so a mark either lands before it and is carried over, or finds the
  claim lost.
  Input:
    KEYS[1] the lease index zset   KEYS[2] its started set
    ARGV[1] leaseMs   ARGV[2] started ('1' to mark)   ARGV[3...] tokens
  Output:
    the tokens not recorded
]]
--- @include "now"
local lost = {}
for i = 3, #ARGV do
  -- XX CH: 1 when a recorded lease moved; 0 either when none is recorded or when its end is the
  -- same millisecond already (a second renewal at once), which only then costs a ZSCORE.
  if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i]) == 1
    or redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    if ARGV[2] == '1' then redis.call('SADD', KEYS[2], ARGV[i]) end
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost

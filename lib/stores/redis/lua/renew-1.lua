--[[
  Extends the leases still recorded, and marks their sends started: a started lease ends at a whole
  millisecond + 0.5 (see lease), so the mark is in the score the renewal writes anyway, and an
  unmarked renewal keeps a mark made. A takeover renames a lease in one step (takeExpired), so a
  mark either lands before it and is carried over, or finds the claim lost.
  Input:
    KEYS[1] the lease index zset
    ARGV[1] leaseMs   ARGV[2] started ('1' to mark)   ARGV[3...] tokens
  Output:
    the tokens not recorded
]]
--- @include "now"
local lost = {}
local ends = now + tonumber(ARGV[1])
for i = 3, #ARGV do
  local t = ARGV[i]
  if ARGV[2] == '1' then
    -- XX CH: 1 when a recorded lease moved; 0 either when none is recorded or when it was marked
    -- with this very end already, which only then costs a ZSCORE.
    if redis.call('ZADD', KEYS[1], 'XX', 'CH', string.format('%d.5', ends), t) == 0
      and not redis.call('ZSCORE', KEYS[1], t) then lost[#lost + 1] = t end
  else
    local score = redis.call('ZSCORE', KEYS[1], t)
    if score then
      local mark = tonumber(score) % 1 == 0 and '' or '.5'
      redis.call('ZADD', KEYS[1], string.format('%d', ends) .. mark, t)
    else
      lost[#lost + 1] = t
    end
  end
end
return lost

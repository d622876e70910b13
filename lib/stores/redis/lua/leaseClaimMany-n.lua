--[[
  One Redis: the claims of a chunk, and the leases of those won.
  Input (a count of keys given at call time: 2, then 4 a claim):
    KEYS[1] the lease index zset (a started send's lease scored end + 0.5)   KEYS[2] its info hash
    KEYS exp sub claims days, the user's keys, for each claim
    ARGV token field day maxPerDay usesLeft leaseMs info (the claim's JSON), for each claim
  Output:
    for each claim: 1 claimed (and leased), 0 not
]]
--- @include "each"
--- @include "claim"
--- @include "lease"
local l = { z = KEYS[1], info = KEYS[2] }
return each(2, { 'exp', 'sub', 'claims', 'days' }, { 'token', 'field', 'day', 'max', 'uses', 'leaseMs', 'info' },
  function(k, a)
    if claim(k, a) == 0 then return 0 end
    lease(l, a.token, a.leaseMs, a.info)
    return 1
  end)

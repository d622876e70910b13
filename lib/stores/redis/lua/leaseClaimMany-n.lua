--[[
  One Redis: the claims of a chunk, and the leases of those won.
  Input (a count of keys given at call time: 3, then 4 a claim):
    KEYS[1] the lease index zset   KEYS[2] its info hash   KEYS[3] its started set
    KEYS exp sub claims days, the user's keys, for each claim
    ARGV token field day maxPerDay usesLeft leaseMs info (the claim's JSON), for each claim
  Output:
    for each claim: 1 claimed (and leased), 0 not
]]
--- @include "each"
--- @include "claim"
--- @include "lease"
local l = { z = KEYS[1], info = KEYS[2], started = KEYS[3] }
return each(3, { 'exp', 'sub', 'claims', 'days' }, { 'token', 'field', 'day', 'max', 'uses', 'leaseMs', 'info' },
  function(k, a)
    if claim(k, a) == 0 then return 0 end
    lease(l, a.token, a.leaseMs, a.info)
    return 1
  end)

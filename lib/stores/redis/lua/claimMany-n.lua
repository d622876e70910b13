--[[
  The claims of a chunk (in a Cluster, of one hash slot), each alone (see claim).
  Input (a count of keys given at call time, 4 a claim):
    KEYS exp sub claims days, the user's keys, for each claim
    ARGV token field day maxPerDay usesLeft ('' for unlimited), for each claim
  Output:
    for each claim: 1 claimed, 0 not
]]
--- @include "each"
--- @include "claim"
return each(0, { 'exp', 'sub', 'claims', 'days' }, { 'token', 'field', 'day', 'max', 'uses' }, claim)

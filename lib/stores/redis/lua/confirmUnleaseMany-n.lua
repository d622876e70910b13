--[[
  One Redis: the outcomes of a chunk, and forgetting the leases of those applied.
  Input (a count of keys given at call time: 2, then 6 an outcome):
    KEYS[1] the lease index zset (a started send's lease scored end + 0.5)   KEYS[2] its info hash
    KEYS and ARGV then as confirmMany's, for each outcome
  Output:
    as confirmMany's
]]
--- @include "each"
--- @include "confirm"
--- @include "unlease"
local l = { z = KEYS[1], info = KEYS[2] }
return each(2, { 'exp', 'expz', 'sub', 'claims', 'days', 'pushes' },
  { 'field', 'day', 'token', 'expected', 'uses', 'remove', 'pushed', 'at', 'keepMs', 'msgid' },
  function(k, a)
    local done = confirm(k, a)
    if done == 1 then unlease(l, a.token) end
    return done
  end)

--[[
  release(claims, a): a held claim let go, nothing else changed. a: field day token (ARGV[1..3]
  of the release scripts).
  Output: 1, or 0 if not held.
]]
--- @include "held"
local function release(claims, a)
  if not held(claims, a) then return 0 end
  redis.call('HDEL', claims, 'day:' .. a.day, 'cred:' .. a.field)
  return 1
end

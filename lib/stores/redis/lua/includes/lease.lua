--[[
  lease(l, token, leaseMs, info): records a claim's lease in the lease index, ending leaseMs after
  `now` by this node's clock, and what it claims: the token itself (the tokens it held, for a
  takeover's retake), a newline, and the claim's JSON (info). l: z info (the index's keys).
  A lease ends at a whole millisecond; renew marks its send started by scoring it end + 0.5, so the
  mark moves, is renamed and is forgotten with the lease itself (no set of its own to keep).
]]
--- @include "now"
local function lease(l, token, leaseMs, info)
  redis.call('ZADD', l.z, now + tonumber(leaseMs), token)
  redis.call('HSET', l.info, token, token .. '\n' .. info)
end

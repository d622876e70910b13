--[[
  unlease(l, token): forgets a claim's lease, what it claims and its started mark.
  l: z info started (the lease index's keys).
]]
local function unlease(l, token)
  redis.call('ZREM', l.z, token)
  redis.call('HDEL', l.info, token)
  redis.call('SREM', l.started, token)
end

--[[
  unlease(l, token): forgets a claim's lease (its started mark with it: see lease)
  and what it claims. l: z info (the lease index's keys).
]]
local function unlease(l, token)
  redis.call('ZREM', l.z, token)
  redis.call('HDEL', l.info, token)
end

--[[
  held(claims, a): whether the user's claims hash still names the claim's token for both its day
  slot and its credential. a: field day token.
]]
local function held(claims, a)
  return redis.call('HGET', claims, 'day:' .. a.day) == a.token
    and redis.call('HGET', claims, 'cred:' .. a.field) == a.token
end

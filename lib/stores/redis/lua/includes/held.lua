--[[
  held(claims, a): whether the user's claims hash still names the claim's token for both its day
  slot and its credential (one HMGET). a: field day token.
]]
local function held(claims, a)
  local t = redis.call('HMGET', claims, 'day:' .. a.day, 'cred:' .. a.field)
  return t[1] == a.token and t[2] == a.token
end

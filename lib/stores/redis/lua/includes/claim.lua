--[[
  claim(k, a): one claim's guards and writes: the user's day slot free and under its limit, the
  credential unclaimed, live and in the state the plan read. Then both name the claim's token.
  k: exp sub claims days (the user's keys). a: token field day max uses.
  Output: 1 claimed, 0 not.
]]
--- @include "now"
--- @include "same"
local function claim(k, a)
  -- Both claim fields in one read: the day slot and the credential must both be free.
  local taken = redis.call('HMGET', k.claims, 'day:' .. a.day, 'cred:' .. a.field)
  if taken[1] or taken[2] then return 0 end
  if tonumber(redis.call('HGET', k.days, a.day) or '0') >= tonumber(a.max) then return 0 end
  local v = redis.call('HGET', k.exp, a.field)
  if v then
    local sep = string.find(v, '|', 1, true)
    if not same(string.sub(v, 1, sep - 1), a.uses) or tonumber(string.sub(v, sep + 1)) <= now then return 0 end
  else
    v = redis.call('HGET', k.sub, a.field)
    if not v or not same(v, a.uses) then return 0 end
  end
  redis.call('HSET', k.claims, 'day:' .. a.day, a.token, 'cred:' .. a.field, a.token)
  return 1
end

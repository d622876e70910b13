--[[
  confirm(k, a): the state the core computed, written on a held claim while the credential holds
  the claimed uses left; a credential gone with its expired key has nothing to write.
  k: exp expz sub claims days pushes (the user's keys).
  a: field day token expected uses remove pushed at keepMs msgid.
  Output: 1; 0 if the claim is not held; or { 'conflict', stored uses left } with nothing changed.
]]
--- @include "same"
--- @include "held"
local function confirm(k, a)
  if not held(k.claims, a) then return 0 end
  local hash, v, rest = k.exp, redis.call('HGET', k.exp, a.field), ''
  if v then
    local sep = string.find(v, '|', 1, true)
    v, rest = string.sub(v, 1, sep - 1), string.sub(v, sep)
  else
    hash, v = k.sub, redis.call('HGET', k.sub, a.field)
  end
  if v and not same(v, a.expected) then return { 'conflict', v } end
  redis.call('HDEL', k.claims, 'day:' .. a.day, 'cred:' .. a.field)
  if v and a.remove == '1' then
    redis.call('HDEL', hash, a.field)
    redis.call('ZREM', k.expz, a.field)
  elseif v then
    redis.call('HSET', hash, a.field, a.uses .. rest)
  end
  if a.pushed == '1' then
    redis.call('HINCRBY', k.days, a.day, 1)
    redis.call('ZADD', k.pushes, a.at, a.at .. ':' .. a.token .. ':' .. a.msgid)
    redis.call('ZREMRANGEBYSCORE', k.pushes, '-inf', '(' .. (tonumber(a.at) - tonumber(a.keepMs)))
    redis.call('PEXPIRE', k.days, a.keepMs)
    redis.call('PEXPIRE', k.pushes, a.keepMs)
  end
  return 1
end

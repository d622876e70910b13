--[[
  Removes each credential given that is unclaimed and still holds the uses left given.
  Input:
    KEYS[1] the user's exp hash   KEYS[2] its expz zset   KEYS[3] its sub hash   KEYS[4] its claims hash
    ARGV field (kind|id), usesLeft ('' for unlimited), for each credential
  Output:
    how many were removed
]]
--- @include "same"
local n = 0
for i = 1, #ARGV, 2 do
  local f, want = ARGV[i], ARGV[i + 1]
  if redis.call('HEXISTS', KEYS[4], 'cred:' .. f) == 0 then
    local v = redis.call('HGET', KEYS[1], f)
    if v and same(string.sub(v, 1, string.find(v, '|', 1, true) - 1), want) then
      redis.call('HDEL', KEYS[1], f)
      redis.call('ZREM', KEYS[2], f)
      n = n + 1
    elseif not v then
      v = redis.call('HGET', KEYS[3], f)
      if v and same(v, want) then
        redis.call('HDEL', KEYS[3], f)
        n = n + 1
      end
    end
  end
end
return n

--[[
  Forgets up to 10000 failed deliveries reported before `since`.
  Input:
    KEYS[1] the failed deliveries zset   KEYS[2] their info hash
    ARGV[1] since (epoch ms)
  Output:
    how many were forgotten (10000: call again)
]]
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, 10000)
for _, m in ipairs(old) do
  redis.call('HDEL', KEYS[2], m)
  redis.call('ZREM', KEYS[1], m)
end
return #old

--[[
  Drops one user's pushes before `since` and day counts before `today`.
  Input:
    KEYS[1] the user's exp hash   KEYS[2] its sub hash   KEYS[3] its pushes zset   KEYS[4] its days hash
    ARGV[1] since (epoch ms)   ARGV[2] today (local day number)
  Output:
    { pushes dropped, days dropped, credentials left }
]]
local pushes = redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[1])
local days = 0
for _, d in ipairs(redis.call('HKEYS', KEYS[4])) do
  if tonumber(d) < tonumber(ARGV[2]) then days = days + redis.call('HDEL', KEYS[4], d) end
end
return { pushes, days, redis.call('HLEN', KEYS[1]) + redis.call('HLEN', KEYS[2]) }

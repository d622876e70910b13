--[[
  Records each failed delivery once per msgid (WeChat re-sends an event it got no answer to).
  Input:
    KEYS[1] the failed deliveries zset   KEYS[2] their info hash
    ARGV msgid, at (the event's instant), info ("errorCode|userId|templateId"), for each
  Output:
    how many were new
]]
local n = 0
for i = 1, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 2]) == 1 then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
    n = n + 1
  end
end
return n

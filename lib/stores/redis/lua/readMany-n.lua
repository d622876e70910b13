--[[
  Reads the stored credentials and pushes of a page of users (in a Cluster, of one hash slot's):
  one call a page instead of one a user.
  Input (a count of keys given at call time, 3 a user):
    KEYS the user's exp hash, sub hash and pushes zset, for each user
    ARGV[1] since (epoch ms)
  Output:
    for each user: { exp's fields and values, sub's fields and values, pushes since `since` with
    their scores }
]]
local out = {}
for i = 1, #KEYS, 3 do
  out[#out + 1] = {
    redis.call('HGETALL', KEYS[i]),
    redis.call('HGETALL', KEYS[i + 1]),
    redis.call('ZRANGEBYSCORE', KEYS[i + 2], ARGV[1], '+inf', 'WITHSCORES'),
  }
end
return out

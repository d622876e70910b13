--[[
  Reads one user's stored credentials and pushes.
  Input:
    KEYS[1] the user's exp hash   KEYS[2] the user's sub hash   KEYS[3] the user's pushes zset
    ARGV[1] since (epoch ms)
  Output:
    { exp's fields and values, sub's fields and values, pushes since `since` with their scores }
]]
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('HGETALL', KEYS[2]),
  redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[1], '+inf', 'WITHSCORES'),
}

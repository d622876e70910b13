--[[
  Shares a fetched token, only while this owner still holds the lock; lets the lock go.
  Input:
    KEYS[1] the token hash
    KEYS[2] the token lock
    ARGV[1] owner
    ARGV[2] token
    ARGV[3] refreshAt (epoch ms)
    ARGV[4] ttlMs of the token hash
  Output:
    1 shared, 0 the lock ran out
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'refreshAt', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('DEL', KEYS[2])
return 1

--[[
  Takes the lock to fetch a token, only while the shared token is still the one the caller saw.
  Input:
    KEYS[1] the token hash
    KEYS[2] the token lock
    ARGV[1] the token the caller saw ('' for none)
    ARGV[2] owner (the caller's id)
    ARGV[3] lockMs
  Output:
    1 locked, 0 the token changed meanwhile, 2 another process holds the lock
]]
if (redis.call('HGET', KEYS[1], 'token') or '') ~= ARGV[1] then return 0 end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return 2

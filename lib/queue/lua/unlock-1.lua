--[[
  Lets a lock go, if this owner holds it.
  Input:
    KEYS[1] the lock
    ARGV[1] owner
  Output:
    1 let go, 0 not held by this owner
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0

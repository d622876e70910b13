--[[
  The fleet's stop, set by the first to report one (it is reported once).
  Input:
    KEYS[1] the halt key
    KEYS[2] the stop's day's totals hash
    ARGV[1] stop (JSON: day, reason, errcode, at)
    ARGV[2] ttlMs of the totals
  Output:
    1 set by this call, 0 a stop stands already
]]
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
redis.call('HSET', KEYS[2], 'stopped', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1

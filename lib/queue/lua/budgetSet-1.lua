--[[
  The day's quota as read by its split, kept once.
  Input:
    KEYS[1] the day's totals hash
    ARGV[1] quota (JSON)
    ARGV[2] the sends budget ('' for none: the quota is unknown)
    ARGV[3] ttlMs
  Output:
    1 kept, 0 a quota was kept already
]]
if redis.call('HSETNX', KEYS[1], 'quota', ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'budgetLeft', ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1

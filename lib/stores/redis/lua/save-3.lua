--[[
  Saves one credential the core's intake made. A formId or prepay_id is saved once, with its
  expiry (its user's exp keys expire with the last of them); a grant adds its accepts to the
  (user, template) count; a long-term subscription is set.
  Input:
    KEYS[1] the user's exp hash   KEYS[2] the user's expz zset   KEYS[3] the user's sub hash
    ARGV[1] kind   ARGV[2] id (a template id for grant and longTerm)
    ARGV[3] uses left ('' for unlimited)   ARGV[4] expireAt (epoch ms; '' for none)
  Output:
    a grant: the count now; longTerm: HSET's answer; else 1 saved, 0 already there
]]
local f = ARGV[1] .. '|' .. ARGV[2]
if ARGV[1] == 'grant' then return redis.call('HINCRBY', KEYS[3], f, ARGV[3]) end
if ARGV[1] == 'longTerm' then return redis.call('HSET', KEYS[3], f, '') end
if redis.call('HSETNX', KEYS[1], f, ARGV[3] .. '|' .. ARGV[4]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[4], f)
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')[2]
redis.call('PEXPIREAT', KEYS[1], last)
redis.call('PEXPIREAT', KEYS[2], last)
return 1

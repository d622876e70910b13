--[[
  Saves one credential the core's intake made, as its mode (lib/stores/saving.js) says: 'adds' (a
  grant) adds its accepts to the (user, template) count, 'sets' (a long-term subscription) is set,
  both in the sub hash; 'once' (a formId or prepay_id) is saved once in the exp hash, with its
  expiry (the user's exp keys expire with the last of them).
  Input:
    KEYS[1] the user's exp hash   KEYS[2] the user's expz zset   KEYS[3] the user's sub hash
    ARGV[1] kind   ARGV[2] id (a template id for grant and longTerm)
    ARGV[3] uses left ('' for unlimited)   ARGV[4] expireAt (epoch ms; '' for none)
    ARGV[5] mode: adds, sets or once
  Output:
    adds: the count now; sets: HSET's answer; once: 1 saved, 0 already there
]]
local f = ARGV[1] .. '|' .. ARGV[2]
if ARGV[5] == 'adds' then return redis.call('HINCRBY', KEYS[3], f, ARGV[3]) end
if ARGV[5] == 'sets' then return redis.call('HSET', KEYS[3], f, '') end
if redis.call('HSETNX', KEYS[1], f, ARGV[3] .. '|' .. ARGV[4]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[4], f)
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')[2]
redis.call('PEXPIREAT', KEYS[1], last)
redis.call('PEXPIREAT', KEYS[2], last)
return 1

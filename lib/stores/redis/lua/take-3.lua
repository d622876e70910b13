--[[
  Removes one unclaimed formId or prepay_id (FormIdCompat's delete).
  Input:
    KEYS[1] the user's exp hash   KEYS[2] the user's expz zset   KEYS[3] the user's claims hash
    ARGV[1] field (kind|id)
  Output:
    1 if this call removed it, else 0
]]
if redis.call('HEXISTS', KEYS[3], 'cred:' .. ARGV[1]) == 1 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])

--[[
  A takeover's second step: renames a claim in the user's keys to its new token, if both its day
  slot and its credential still hold one of the tokens it held (a takeover that died before this
  step left an older one).
  Input:
    KEYS[1] the user's claims hash
    ARGV[1] field (kind|id)   ARGV[2] day   ARGV[3] the new token
    ARGV[4...] the tokens the claim may still hold
  Output:
    1 renamed, 0 not held
]]
local held = redis.call('HGET', KEYS[1], 'day:' .. ARGV[2])
if not held or redis.call('HGET', KEYS[1], 'cred:' .. ARGV[1]) ~= held then return 0 end
for i = 4, #ARGV do
  if ARGV[i] == held then
    redis.call('HSET', KEYS[1], 'day:' .. ARGV[2], ARGV[3], 'cred:' .. ARGV[1], ARGV[3])
    return 1
  end
end
return 0

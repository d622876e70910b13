--[[
  A takeover's first step: renames the leases that ended to new tokens (a new lease, the started
  mark carried over, the old token added to the info's list of tokens held).
  Input:
    KEYS[1] the lease index zset   KEYS[2] its info hash   KEYS[3] its started set
    ARGV[1] leaseMs   ARGV[2...] one new token per lease to take
  Output:
    old token, new token, info ('' if none: nothing taken), started (1/0), for each lease that ended
]]
--- @include "now"
local tokens = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, #ARGV - 1)
local out = {}
for i, t in ipairs(tokens) do
  local fresh, info = ARGV[i + 1], redis.call('HGET', KEYS[2], t) or ''
  local started = redis.call('SREM', KEYS[3], t)
  -- A lease an earlier version recorded: its claim's JSON alone, never marked, so counted as started.
  if info ~= '' and not string.find(info, '\n', 1, true) then info, started = t .. '\n' .. info, 1 end
  redis.call('ZREM', KEYS[1], t)
  redis.call('HDEL', KEYS[2], t)
  if info ~= '' then
    info = fresh .. ' ' .. info
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), fresh)
    redis.call('HSET', KEYS[2], fresh, info)
    if started == 1 then redis.call('SADD', KEYS[3], fresh) end
  end
  out[#out + 1] = t
  out[#out + 1] = fresh
  out[#out + 1] = info
  out[#out + 1] = started
end
return out

--[[
  A takeover's first step: renames the leases that ended to new tokens (a new lease, the started
  mark carried over, the old token added to the info's list of tokens held).
  Input:
    KEYS[1] the lease index zset (a started send's lease scored end + 0.5)   KEYS[2] its info hash
    ARGV[1] leaseMs   ARGV[2...] one new token per lease to take
  Output:
    old token, new token, info ('' if none: nothing taken), started (1/0), for each lease that ended
]]
--- @include "now"
-- now + 0.5: a started lease that ended at `now` is scored now + 0.5.
local ended = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%d.5', now), 'WITHSCORES',
  'LIMIT', 0, #ARGV - 1)
local out = {}
for i = 1, #ended, 2 do
  local t, fresh = ended[i], ARGV[(i + 1) / 2 + 1]
  local info = redis.call('HGET', KEYS[2], t) or ''
  local started = tonumber(ended[i + 1]) % 1 == 0 and 0 or 1
  -- A lease an earlier version recorded: its claim's JSON alone, never marked, so counted as started.
  if info ~= '' and not string.find(info, '\n', 1, true) then info, started = t .. '\n' .. info, 1 end
  redis.call('ZREM', KEYS[1], t)
  redis.call('HDEL', KEYS[2], t)
  if info ~= '' then
    info = fresh .. ' ' .. info
    redis.call('ZADD', KEYS[1], string.format(started == 1 and '%d.5' or '%d', now + tonumber(ARGV[1])), fresh)
    redis.call('HSET', KEYS[2], fresh, info)
  end
  out[#out + 1] = t
  out[#out + 1] = fresh
  out[#out + 1] = info
  out[#out + 1] = started
end
return out

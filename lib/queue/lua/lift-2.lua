--[[
  Lifts the fleet's stop if it is one of these reasons, from a day before beforeDay.
  Input:
    KEYS[1] the halt key
    KEYS[2] the stop's day's totals hash
    ARGV[1] beforeDay ('' for any day)
    ARGV[2...] reasons
  Output:
    1 lifted, 0 no stop, or not one of these
]]
local stop = redis.call('GET', KEYS[1])
if not stop then return 0 end
stop = cjson.decode(stop)
if ARGV[1] ~= '' and stop.day >= tonumber(ARGV[1]) then return 0 end
for i = 2, #ARGV do
  if ARGV[i] == stop.reason then
    redis.call('DEL', KEYS[1])
    redis.call('HDEL', KEYS[2], 'stopped')
    return 1
  end
end
return 0

--[[
  Takes one send of the fleet's budget for the day (budgetLeft, set by the split that read the
  quota).
  Input:
    KEYS[1] the day's totals hash
  Output:
    1 taken (or no budget set), 0 none left
]]
local left = redis.call('HGET', KEYS[1], 'budgetLeft')
if not left then return 1 end
if tonumber(left) <= 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'budgetLeft', -1)
return 1

--[[
  Sets the day's page count once its split has ended.
  Input:
    KEYS[1] the day's totals hash
    ARGV[1] the page count
    ARGV[2] ttlMs
  Output:
    1 the pages are all done or expired already (the split ended after its last page), else 0
]]
--- @include "pagesLeft"
redis.call('HSET', KEYS[1], 'pages.total', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if pagesLeft() == 0 then return 1 end
return 0

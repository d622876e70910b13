--[[
  Adds one page run's counts to the day's totals once (a run recorded again adds nothing), and
  counts the page done once.
  Input:
    KEYS[1] the day's totals hash
    KEYS[2] the day's runs hash (runs already added)
    KEYS[3] the day's done hash (pages done)
    ARGV[1] run (the page job's id and attempt)
    ARGV[2] page (the job's id, counted done; '' for a run that leaves the page to a rerun)
    ARGV[3] ttlMs of the three keys
    ARGV[4...] field, n pairs added into the totals
  Output:
    2 added, and the day's pages are all done or expired now; 1 added; 0 already recorded
]]
--- @include "pagesLeft"
if redis.call('HSETNX', KEYS[2], ARGV[1], '1') == 0 then return 0 end
local before = pagesLeft()
for i = 4, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[2] ~= '' and redis.call('HSETNX', KEYS[3], ARGV[2], '1') == 1 then
  redis.call('HINCRBY', KEYS[1], 'pages.done', 1)
end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
if before ~= 0 and pagesLeft() == 0 then return 2 end
return 1

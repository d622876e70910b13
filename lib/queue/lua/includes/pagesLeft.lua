--[[
  pagesLeft(): the day's pages neither done nor expired, or false before its split has ended
  (`pages.total` unset). Reads KEYS[1], the day's totals hash.
]]
local function pagesLeft()
  local total = redis.call('HGET', KEYS[1], 'pages.total')
  if not total then return false end
  local n = function(f) return tonumber(redis.call('HGET', KEYS[1], f) or '0') end
  return tonumber(total) - n('pages.done') - n('pages.expired')
end

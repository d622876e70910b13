--[[
  same(v, want): whether stored uses left (v; '' for unlimited) are the state a caller read
  (want, an ARGV; '' for unlimited).
]]
local function same(v, want)
  if want == '' then return v == '' end
  return v ~= '' and tonumber(v) == tonumber(want)
end

--[[
  each(head, keyNames, argNames, step): runs step(k, a) for each element of a chunk. KEYS holds
  `head` keys first (the lease index, on one Redis), then each element's keys in turn; ARGV holds
  only the elements' arguments, in turn. k and a name an element's keys and arguments
  (k.claims, a.token...) by keyNames and argNames, in that order.
  Output: the steps' results, in order.
]]
local function each(head, keyNames, argNames, step)
  local nk, na = #keyNames, #argNames
  local out = {}
  for e = 0, (#KEYS - head) / nk - 1 do
    local k, a = {}, {}
    for i, name in ipairs(keyNames) do k[name] = KEYS[head + e * nk + i] end
    for i, name in ipairs(argNames) do a[name] = ARGV[e * na + i] end
    out[e + 1] = step(k, a)
  end
  return out
end

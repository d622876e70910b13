--[[
  now: this node's clock (TIME), in epoch milliseconds. Leases run on it.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

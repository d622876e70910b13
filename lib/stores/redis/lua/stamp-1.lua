--[[
  The store's clock and marker.
  Input:
    KEYS[1] the marker migrate() wrote
  Output:
    { now by this node's clock (epoch ms), the marker or '' }
]]
--- @include "now"
return { now, redis.call('GET', KEYS[1]) or '' }

--[[
  Reads the fleet's shared access_token.
  Input:
    KEYS[1] the token hash
  Output:
    { the shared token or false, when its refresh is due (epoch ms) or false }
]]
return redis.call('HMGET', KEYS[1], 'token', 'refreshAt')

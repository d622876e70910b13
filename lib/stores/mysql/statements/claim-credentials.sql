-- Each slot's token to its claim's credential, if that is free, live and in the state read (one
-- claim per user: a slot's token reaches no other claim's credential). ? the slots (user_id, day),
-- ? the tokens, ? the credentials (user_id, kind, id), ? their states (user_id, kind, id, uses
-- left or -1: NULL never equals itself).
UPDATE wn_user_day d FORCE INDEX (PRIMARY) STRAIGHT_JOIN wn_credential c ON c.user_id = d.user_id
SET c.claim_token = d.claim_token
WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?) AND (c.user_id, c.kind, c.id) IN (?)
  AND (c.user_id, c.kind, c.id, IFNULL(c.uses_left, -1)) IN (?) AND c.claim_token IS NULL
  AND (c.expire_at IS NULL OR c.expire_at > UNIX_TIMESTAMP(NOW(3)) * 1000)

-- Each slot's token to the credential its claim names (by key, from the slot), if that is free,
-- live and in the state read, its uses left the slot's (one claim per user: a slot's token
-- reaches no other credential): ? the users, ? their day, ? the tokens.
UPDATE wn_user_day d FORCE INDEX (PRIMARY)
  STRAIGHT_JOIN wn_credential c ON c.user_id = d.user_id AND c.kind = d.claim_kind AND c.id = d.claim_id
SET c.claim_token = d.claim_token
WHERE d.user_id IN (?) AND d.day = ? AND d.claim_token IN (?) AND c.claim_token IS NULL
  AND IFNULL(c.uses_left, -1) = IFNULL(d.claim_uses_left, -1)
  AND (c.expire_at IS NULL OR c.expire_at > UNIX_TIMESTAMP(NOW(3)) * 1000)

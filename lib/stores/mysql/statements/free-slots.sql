-- The day slots of the claims that missed let go, their claim fields cleared: ? the users,
-- ? their day, ? their tokens.
UPDATE wn_user_day d FORCE INDEX (PRIMARY)
SET d.claim_kind = NULL, d.claim_id = NULL, d.claim_uses_left = NULL, d.started = NULL, d.lease_until = NULL,
  d.claim_token = NULL
WHERE d.user_id IN (?) AND d.day = ? AND d.claim_token IN (?)

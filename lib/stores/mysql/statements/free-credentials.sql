-- The settled claims' credentials let go, their uses left kept (releases alone): ? the users,
-- ? their day, ? the tokens.
UPDATE wn_user_day d FORCE INDEX (PRIMARY)
  STRAIGHT_JOIN wn_credential c ON c.user_id = d.user_id AND c.kind = d.claim_kind AND c.id = d.claim_id
    AND c.claim_token = d.claim_token
SET c.claim_token = NULL
WHERE d.user_id IN (?) AND d.day = ? AND d.claim_token IN (?)

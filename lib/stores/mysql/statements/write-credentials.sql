-- The settled claims' credentials let go, each written one with its new uses left (the WHEN
-- group repeated by the caller, a token and its uses left each), the others kept: then ? the
-- users, ? their day, ? the tokens.
UPDATE wn_user_day d FORCE INDEX (PRIMARY)
  STRAIGHT_JOIN wn_credential c ON c.user_id = d.user_id AND c.kind = d.claim_kind AND c.id = d.claim_id
    AND c.claim_token = d.claim_token
SET c.claim_token = NULL, c.uses_left = CASE d.claim_token /*each sep=" "*/WHEN ? THEN ?/*end*/ ELSE c.uses_left END
WHERE d.user_id IN (?) AND d.day = ? AND d.claim_token IN (?)

-- An outcome batch's claims still held (their slots have their tokens), locked, with their
-- credentials' uses left: ? the users, ? their day, ? the tokens.
SELECT d.claim_token, c.uses_left, c.id IS NOT NULL AS present
FROM wn_user_day d FORCE INDEX (PRIMARY)
  LEFT JOIN wn_credential c ON c.user_id = d.user_id AND c.kind = d.claim_kind AND c.id = d.claim_id
    AND c.claim_token = d.claim_token
WHERE d.user_id IN (?) AND d.day = ? AND d.claim_token IN (?) FOR UPDATE

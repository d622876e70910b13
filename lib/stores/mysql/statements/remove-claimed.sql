-- The credentials an outcome removes: ? the slots (user_id, day), ? their tokens.
DELETE c FROM wn_user_day d FORCE INDEX (PRIMARY)
  STRAIGHT_JOIN wn_credential c ON c.user_id = d.user_id AND c.kind = d.claim_kind AND c.id = d.claim_id
    AND c.claim_token = d.claim_token
WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?)

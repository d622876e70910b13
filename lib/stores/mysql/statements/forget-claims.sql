-- The settled claims' recovery rows: ? the slots (user_id, day), ? the tokens.
DELETE w FROM wn_user_day d FORCE INDEX (PRIMARY) STRAIGHT_JOIN wn_claim w ON w.token = d.claim_token
WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?)

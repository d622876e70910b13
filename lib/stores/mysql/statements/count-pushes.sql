-- The settled claims' day slots let go, their claim fields cleared, a push counted for those that
-- pushed: ? their tokens ([NULL] for none: IN (NULL) matches nothing), ? the users, ? their day,
-- ? all the tokens. The token is cleared last, after the count has read it.
UPDATE wn_user_day d FORCE INDEX (PRIMARY)
SET d.pushes = d.pushes + IF(d.claim_token IN (?), 1, 0), d.claim_kind = NULL, d.claim_id = NULL,
  d.claim_uses_left = NULL, d.started = NULL, d.lease_until = NULL, d.claim_token = NULL
WHERE d.user_id IN (?) AND d.day = ? AND d.claim_token IN (?)

-- The settled claims' day slots let go, a push counted for those that pushed: ? their tokens
-- ([NULL] for none: IN (NULL) matches nothing), ? the slots (user_id, day), ? all the tokens.
UPDATE wn_user_day FORCE INDEX (PRIMARY) SET pushes = pushes + IF(claim_token IN (?), 1, 0), claim_token = NULL
WHERE (user_id, day) IN (?) AND claim_token IN (?)

-- The day slots of the claims that missed let go: ? the slots (user_id, day), ? their tokens.
UPDATE wn_user_day SET claim_token = NULL WHERE (user_id, day) IN (?) AND claim_token IN (?)

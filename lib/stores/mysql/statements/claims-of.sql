-- The tokens still held (their day slots have them): ? the slots (user_id, day), ? the tokens.
SELECT claim_token FROM wn_user_day FORCE INDEX (PRIMARY) WHERE (user_id, day) IN (?) AND claim_token IN (?)

-- The tokens still held (their day slots have them): ? the users, ? their day, ? the tokens.
SELECT claim_token FROM wn_user_day FORCE INDEX (PRIMARY) WHERE user_id IN (?) AND day = ? AND claim_token IN (?)

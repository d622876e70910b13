-- The tokens that reached their credentials: ? the credentials (user_id, kind, id), ? the tokens.
SELECT claim_token FROM wn_credential WHERE (user_id, kind, id) IN (?) AND claim_token IN (?)

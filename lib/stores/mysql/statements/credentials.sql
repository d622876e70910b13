-- One user's credentials: ? user_id.
SELECT * FROM wn_credential WHERE user_id = ? ORDER BY kind, id

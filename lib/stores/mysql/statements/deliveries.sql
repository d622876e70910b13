-- One user's pushes and their msgids: ? user_id.
SELECT pushed_at, msgid FROM wn_push WHERE user_id = ? ORDER BY pushed_at

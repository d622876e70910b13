-- One user's pushes: ? user_id.
SELECT pushed_at FROM wn_push WHERE user_id = ? ORDER BY pushed_at

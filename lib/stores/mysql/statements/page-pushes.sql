-- A page's pushes: ? the users' ids, ? since.
SELECT user_id, pushed_at FROM wn_push WHERE user_id IN (?) AND pushed_at >= ?

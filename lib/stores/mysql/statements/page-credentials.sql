-- A page's credentials: ? the users' ids.
SELECT user_id, kind, id, template_id, uses_left, expire_at FROM wn_credential WHERE user_id IN (?)

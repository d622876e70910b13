-- As ids-after, up to ? (until) too: ? after, ? until, ? limit.
SELECT DISTINCT user_id FROM wn_credential WHERE user_id > ? AND user_id <= ?
ORDER BY user_id LIMIT ?

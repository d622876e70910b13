-- Ids of users with any stored credential after ? (after), in byte order, ? (limit) at most:
-- the primary key alone.
SELECT DISTINCT user_id FROM wn_credential WHERE user_id > ?
ORDER BY user_id LIMIT ?

-- Up to 10000 pushes before ? (since).
DELETE FROM wn_push WHERE pushed_at < ? LIMIT 10000

-- Up to 10000 failed deliveries reported before ? (since).
DELETE FROM wn_failed_delivery WHERE at < ? LIMIT 10000

-- Up to 10000 unclaimed day slots before ? (today).
DELETE FROM wn_user_day WHERE claim_token IS NULL AND day < ? LIMIT 10000

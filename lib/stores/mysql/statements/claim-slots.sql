-- A claim batch's day slots, each taken only if free and under the day's limit: ? rows (user_id,
-- day, claim_token) of the claims of one limit, ? that limit.
INSERT INTO wn_user_day (user_id, day, claim_token) VALUES ?
ON DUPLICATE KEY UPDATE claim_token = IF(claim_token IS NULL AND pushes < ?, VALUES(claim_token), claim_token)

-- A claim batch's day slots, each taken only if free and under the day's limit, the claim's
-- credential, its uses left, started (0) and lease (by the database's clock) written with the
-- token: the group between each and end, repeated by the caller, a row each (user_id, day,
-- claim_token, kind, id, uses_left, lease in microseconds); then ? the limit, once for each column
-- set. The token is set last, so that every column reads the slot as it was.
INSERT INTO wn_user_day (user_id, day, claim_token, claim_kind, claim_id, claim_uses_left, started, lease_until)
VALUES /*each sep=", "*/(?, ?, ?, ?, ?, ?, 0, NOW(3) + INTERVAL ? MICROSECOND)/*end*/
ON DUPLICATE KEY UPDATE
  claim_kind = IF(claim_token IS NULL AND pushes < ?, VALUES(claim_kind), claim_kind),
  claim_id = IF(claim_token IS NULL AND pushes < ?, VALUES(claim_id), claim_id),
  claim_uses_left = IF(claim_token IS NULL AND pushes < ?, VALUES(claim_uses_left), claim_uses_left),
  started = IF(claim_token IS NULL AND pushes < ?, VALUES(started), started),
  lease_until = IF(claim_token IS NULL AND pushes < ?, VALUES(lease_until), lease_until),
  claim_token = IF(claim_token IS NULL AND pushes < ?, VALUES(claim_token), claim_token)

-- The claims won, for recovery: a row each (the group between each and end, repeated by the
-- caller): token, user_id, day, kind, id, uses_left, lease in microseconds.
INSERT INTO wn_claim (token, user_id, day, kind, id, uses_left, started, lease_until)
VALUES /*each sep=", "*/(?, ?, ?, ?, ?, ?, 0, NOW(3) + INTERVAL ? MICROSECOND)/*end*/

-- Claims whose lease ran out by the database's clock (a held slot's lease; NULL while not held),
-- locked, others' locked ones skipped: ? limit.
SELECT user_id, day, claim_token AS token, claim_kind AS kind, claim_id AS id, claim_uses_left AS uses_left, started
FROM wn_user_day FORCE INDEX (wn_user_day_lease) WHERE lease_until <= NOW(3) ORDER BY lease_until LIMIT ?
FOR UPDATE SKIP LOCKED

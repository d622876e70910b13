-- A claim taken over, on its day slot, under a new lease by the database's clock: ? new token, ?
-- the lease in microseconds, ? user_id, ? day, ? old token.
UPDATE wn_user_day SET claim_token = ?, lease_until = NOW(3) + INTERVAL ? MICROSECOND
WHERE user_id = ? AND day = ? AND claim_token = ?

-- A claim taken over: ? the new token, ? the lease in microseconds, ? the old token.
UPDATE wn_claim SET token = ?, lease_until = NOW(3) + INTERVAL ? MICROSECOND WHERE token = ?

-- Extends held claims' leases by the database's clock and, if asked, marks their sends started:
-- ? the lease in microseconds, ? started (1/0), ? the tokens.
UPDATE wn_claim SET lease_until = NOW(3) + INTERVAL ? MICROSECOND, started = IF(? = 1, 1, started)
WHERE token IN (?)

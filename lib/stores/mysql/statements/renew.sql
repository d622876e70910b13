-- Extends held claims' leases by the database's clock and, if asked, marks their sends started, on
-- their day slots: ? the lease in microseconds, ? started (1/0), ? the users, ? their day, ? the
-- tokens.
UPDATE wn_user_day d FORCE INDEX (PRIMARY)
SET d.lease_until = NOW(3) + INTERVAL ? MICROSECOND, d.started = IF(? = 1, 1, d.started)
WHERE d.user_id IN (?) AND d.day = ? AND d.claim_token IN (?)

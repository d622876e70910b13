-- Extends held claims' leases by the database's clock and, if asked, marks their sends started, on
-- their day slots (a multi-table UPDATE for the plan by primary key, as count-pushes.sql says): ?
-- the lease in microseconds, ? started (1/0), ? the slots (user_id, day), ? the tokens.
UPDATE wn_user_day d FORCE INDEX (PRIMARY) STRAIGHT_JOIN (SELECT 1 AS one) one
SET d.lease_until = NOW(3) + INTERVAL ? MICROSECOND, d.started = IF(? = 1, 1, d.started)
WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?)

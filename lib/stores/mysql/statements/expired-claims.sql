-- Claims whose lease ran out by the database's clock, locked, others' locked ones skipped: ? limit.
SELECT * FROM wn_claim WHERE lease_until <= NOW(3) ORDER BY lease_until LIMIT ? FOR UPDATE SKIP LOCKED

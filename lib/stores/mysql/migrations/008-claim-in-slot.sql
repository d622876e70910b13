-- A claim lives in its day slot's row (the slot already held its token): the credential it claims,
-- the credential's uses left when claimed, whether its send started, and its lease, all NULL while
-- the slot is not held. One index, on the lease: NULL while not held, so the takeover's range
-- (lease_until <= NOW(3)) reads the expired claims alone, however many settled slots the table has.
ALTER TABLE wn_user_day
  ADD COLUMN claim_kind VARCHAR(10) NULL,
  ADD COLUMN claim_id VARBINARY(512) NULL,
  ADD COLUMN claim_uses_left INT UNSIGNED NULL COMMENT 'NULL: unlimited, or not held',
  ADD COLUMN started TINYINT(1) NULL,
  ADD COLUMN lease_until DATETIME(3) NULL,
  ADD KEY wn_user_day_lease (lease_until);
-- Claims held when this runs move into their slots, lease and started as they were, so that a
-- takeover after the migration finds them.
UPDATE wn_user_day d JOIN wn_claim w ON w.user_id = d.user_id AND w.day = d.day AND w.token = d.claim_token
SET d.claim_kind = w.kind, d.claim_id = w.id, d.claim_uses_left = w.uses_left, d.started = w.started,
  d.lease_until = w.lease_until;
DROP TABLE wn_claim;

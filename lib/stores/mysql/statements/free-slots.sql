-- The day slots of the claims that missed let go, their claim fields cleared: ? the slots
-- (user_id, day), ? their tokens. A multi-table UPDATE for the plan by primary key, as
-- count-pushes.sql says.
UPDATE wn_user_day d FORCE INDEX (PRIMARY) STRAIGHT_JOIN (SELECT 1 AS one) one
SET d.claim_kind = NULL, d.claim_id = NULL, d.claim_uses_left = NULL, d.started = NULL, d.lease_until = NULL,
  d.claim_token = NULL
WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?)

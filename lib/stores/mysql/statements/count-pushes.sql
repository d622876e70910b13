-- The settled claims' day slots let go, their claim fields cleared, a push counted for those that
-- pushed: ? their tokens ([NULL] for none: IN (NULL) matches nothing), ? the slots (user_id, day),
-- ? all the tokens. Written as a multi-table UPDATE (a one-row derived table joined) so that
-- MariaDB plans it as it plans the joined statements, reading each slot by its primary key: as a
-- single-table UPDATE the same WHERE examined many rows per user, more as the table grew
-- (BENCHMARKS.md, issue 30). The token is cleared last, after the count has read it.
UPDATE wn_user_day d FORCE INDEX (PRIMARY) STRAIGHT_JOIN (SELECT 1 AS one) one
SET d.pushes = d.pushes + IF(d.claim_token IN (?), 1, 0), d.claim_kind = NULL, d.claim_id = NULL,
  d.claim_uses_left = NULL, d.started = NULL, d.lease_until = NULL, d.claim_token = NULL
WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?)

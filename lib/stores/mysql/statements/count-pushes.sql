-- The settled claims' day slots let go, a push counted for those that pushed: ? their tokens
-- ([NULL] for none: IN (NULL) matches nothing), ? the slots (user_id, day), ? all the tokens.
-- Written as a multi-table UPDATE (a one-row derived table joined) so that MariaDB plans it as it
-- plans the joined statements, reading each slot by its primary key: as a single-table UPDATE the
-- same WHERE examined 33 rows per user at 10k users and 111 at 100k (BENCHMARKS.md, issue 30).
UPDATE wn_user_day d FORCE INDEX (PRIMARY) STRAIGHT_JOIN (SELECT 1 AS one) one
SET d.pushes = d.pushes + IF(d.claim_token IN (?), 1, 0), d.claim_token = NULL
WHERE (d.user_id, d.day) IN (?) AND d.claim_token IN (?)

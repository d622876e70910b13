-- The credentials given, each only if unclaimed and in the state given: ? (user_id, kind, id),
-- ? their states (user_id, kind, id, uses left or -1).
DELETE FROM wn_credential WHERE (user_id, kind, id) IN (?)
  AND (user_id, kind, id, IFNULL(uses_left, -1)) IN (?) AND claim_token IS NULL

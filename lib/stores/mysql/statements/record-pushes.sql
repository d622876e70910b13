-- The pushes made: ? rows (user_id, pushed_at, msgid).
INSERT INTO wn_push (user_id, pushed_at, msgid) VALUES ?

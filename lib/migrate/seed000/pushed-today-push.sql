-- A user seed 000 pushed today, as a push at the day's start: ? user_id, ? the day's start (epoch ms).
INSERT INTO wn_push (user_id, pushed_at) VALUES (?, ?)

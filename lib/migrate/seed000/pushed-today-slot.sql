-- A user seed 000 pushed today, on the store's day slot: ? user_id, ? the local day.
INSERT INTO wn_user_day (user_id, day, pushes) VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE pushes = GREATEST(pushes, 1)

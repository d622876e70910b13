-- A batch of seed 000's unsent formIds, in id order: ? after (the last id read), ? limit.
SELECT id, user_id, form_id, expire FROM wx_save_form_id WHERE status = 0 AND id > ? ORDER BY id LIMIT ?

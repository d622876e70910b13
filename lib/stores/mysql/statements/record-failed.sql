-- Failed deliveries, once per msgid (a row already there is left as it is, and affectedRows
-- counts only the new ones): ? rows (msgid, user_id, template_id, error_code, at).
INSERT INTO wn_failed_delivery (msgid, user_id, template_id, error_code, at) VALUES ? ON DUPLICATE KEY UPDATE msgid = msgid

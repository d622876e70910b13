-- Intake results: ? rows (user_id, kind, id, template_id, uses_left, expire_at). A formId or
-- prepay_id is saved once; a grant adds its accepts.
INSERT INTO wn_credential (user_id, kind, id, template_id, uses_left, expire_at) VALUES ?
ON DUPLICATE KEY UPDATE uses_left = IF(kind = 'grant', uses_left + VALUES(uses_left), uses_left)

-- Intake results: ? rows (user_id, kind, id, template_id, uses_left, expire_at); ? the kinds whose
-- saves add up (saving.js: grants), the others kept as first saved.
INSERT INTO wn_credential (user_id, kind, id, template_id, uses_left, expire_at) VALUES ?
ON DUPLICATE KEY UPDATE uses_left = IF(kind IN (?), uses_left + VALUES(uses_left), uses_left)

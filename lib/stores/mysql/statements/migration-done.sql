-- A version applied: ? version.
INSERT IGNORE INTO wn_migration (version) VALUES (?)

-- The store's marker, written once: ? a random id.
INSERT IGNORE INTO wn_marker (id, marker) VALUES (1, ?)

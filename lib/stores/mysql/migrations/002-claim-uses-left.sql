-- A claim keeps the credential state it was made on: recovery confirms against it.
ALTER TABLE wn_claim ADD COLUMN uses_left INT UNSIGNED NULL COMMENT 'NULL: unlimited' AFTER id;

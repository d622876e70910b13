-- Ids compare byte for byte: utf8mb4_bin pads with spaces on MariaDB (and MySQL before its 0900
-- collations), so 'oPad' and 'oPad ' were one key. 512 bytes hold 128 characters of utf8mb4.
ALTER TABLE wn_credential MODIFY user_id VARBINARY(512) NOT NULL, MODIFY id VARBINARY(512) NOT NULL,
  MODIFY template_id VARBINARY(512) NULL;
ALTER TABLE wn_user_day MODIFY user_id VARBINARY(512) NOT NULL;
ALTER TABLE wn_push MODIFY user_id VARBINARY(512) NOT NULL;
ALTER TABLE wn_claim MODIFY user_id VARBINARY(512) NOT NULL, MODIFY id VARBINARY(512) NOT NULL;

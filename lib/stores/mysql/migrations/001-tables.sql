-- The store's tables: credentials, users' day slots, pushes, and claims (for recovery).
CREATE TABLE IF NOT EXISTS wn_credential (
  user_id VARCHAR(128) NOT NULL,
  kind VARCHAR(10) NOT NULL,
  id VARCHAR(128) NOT NULL,
  template_id VARCHAR(128) NULL,
  uses_left INT UNSIGNED NULL COMMENT 'NULL: unlimited (long-term subscription)',
  expire_at BIGINT NULL COMMENT 'epoch ms; NULL: never',
  claim_token CHAR(36) NULL,
  PRIMARY KEY (user_id, kind, id),
  KEY wn_credential_expire (expire_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS wn_user_day (
  user_id VARCHAR(128) NOT NULL,
  day INT NOT NULL COMMENT 'local day number, from weapp-notify localDay',
  pushes INT NOT NULL DEFAULT 0,
  claim_token CHAR(36) NULL,
  PRIMARY KEY (user_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS wn_push (
  user_id VARCHAR(128) NOT NULL,
  pushed_at BIGINT NOT NULL,
  KEY wn_push_user (user_id, pushed_at),
  KEY wn_push_at (pushed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS wn_claim (
  token CHAR(36) NOT NULL PRIMARY KEY,
  user_id VARCHAR(128) NOT NULL,
  day INT NOT NULL,
  kind VARCHAR(10) NOT NULL,
  id VARCHAR(128) NOT NULL,
  lease_until DATETIME(3) NOT NULL,
  KEY wn_claim_lease (lease_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

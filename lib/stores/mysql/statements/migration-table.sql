-- The versions migrate() has applied (migrations/NNN-name.sql: version NNN).
CREATE TABLE IF NOT EXISTS wn_migration (version INT NOT NULL PRIMARY KEY)

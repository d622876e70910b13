-- The versions applied.
SELECT version FROM wn_migration

-- The database's clock alone, epoch ms (stamp on a database with no marker table).
SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED) AS now

-- The database's clock (the leases run on NOW(3)), epoch ms, and the marker (NULL: none).
SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED) AS now, (SELECT marker FROM wn_marker WHERE id = 1) AS marker

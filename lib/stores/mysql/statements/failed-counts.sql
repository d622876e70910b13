-- Failed deliveries by error code: ? since, ? until (excluded).
SELECT error_code, COUNT(*) AS n FROM wn_failed_delivery WHERE at >= ? AND at < ? GROUP BY error_code

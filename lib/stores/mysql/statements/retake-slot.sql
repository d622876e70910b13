-- A claim taken over, on its day slot: ? new token, ? user_id, ? day, ? old token.
UPDATE wn_user_day SET claim_token = ? WHERE user_id = ? AND day = ? AND claim_token = ?

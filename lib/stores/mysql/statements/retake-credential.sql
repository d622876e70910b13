-- A claim taken over, on its credential (by key: claim_token has no index, and a scan would lock
-- every row of a big table): ? new token, ? user_id, ? kind, ? id, ? old token.
UPDATE wn_credential SET claim_token = ? WHERE user_id = ? AND kind = ? AND id = ? AND claim_token = ?

-- The tokens still held (a wn_claim row each): ? the tokens.
SELECT token FROM wn_claim WHERE token IN (?)

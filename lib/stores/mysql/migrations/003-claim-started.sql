-- Whether a claim's send started: one taken over unstarted was never sent. Claims made before
-- this column count as started, their fate unknown.
ALTER TABLE wn_claim ADD COLUMN started TINYINT(1) NOT NULL DEFAULT 1 AFTER uses_left;

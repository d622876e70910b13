-- WeChat's msgid of a delivery (the digits of a 64-bit integer), kept with its push: a sent event
-- names it.
ALTER TABLE wn_push ADD COLUMN msgid VARCHAR(20) NULL COMMENT 'WeChat msgid; NULL: none answered';

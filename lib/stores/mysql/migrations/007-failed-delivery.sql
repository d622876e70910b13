-- Deliveries a subscribe_msg_sent_event reported failed, once per msgid (WeChat re-sends an event
-- it got no answer to), counted by the instant WeChat gave.
CREATE TABLE IF NOT EXISTS wn_failed_delivery (
  msgid VARCHAR(20) NOT NULL PRIMARY KEY,
  user_id VARBINARY(512) NOT NULL,
  template_id VARBINARY(512) NOT NULL,
  error_code BIGINT NOT NULL,
  at BIGINT NOT NULL COMMENT 'epoch ms, the event''s CreateTime',
  KEY wn_failed_delivery_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Seed 000's per-user counts and the local date (YYYYMMDD) each user was last pushed.
SELECT user_id, count, last_date FROM wx_message_push_status

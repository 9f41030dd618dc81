-- KEYS[1] meta, KEYS[2] log. Returns {epoch, last_seq, first_seq} or nil. Read-only.
return log_info()

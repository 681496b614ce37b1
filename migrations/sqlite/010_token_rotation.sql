-- 10: token rotation (contract §18, issue 19): the token a device last rotated away from (its SHA-256,
-- like the current one) and when it was retired, so a retry within the grace works and a replay after
-- it is caught. The expiry sweep selects by last_seen_at and created_at.
ALTER TABLE devices ADD COLUMN prev_token_hash BLOB;
ALTER TABLE devices ADD COLUMN prev_retired_at INTEGER;
CREATE UNIQUE INDEX devices_by_prev_token ON devices (prev_token_hash) WHERE prev_token_hash IS NOT NULL;
CREATE INDEX devices_by_last_seen ON devices (last_seen_at);
CREATE INDEX devices_by_created ON devices (created_at);

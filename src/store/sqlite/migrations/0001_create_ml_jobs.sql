-- The live jobs table and the indexes its queries use. Times are INTEGER microseconds
-- since the Unix epoch (UTC); JSON is TEXT. Index names match the PostgreSQL schema.
CREATE TABLE mljobs_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO mljobs_meta (key, value) VALUES ('server_secret', lower(hex(randomblob(32))));

-- AUTOINCREMENT: ids are never reused, even after the newest rows are deleted, so a
-- cursor or an archived row can never be confused with a later job.
CREATE TABLE ml_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_uuid TEXT NOT NULL,
  owner TEXT NOT NULL,
  model TEXT NOT NULL,
  input_text TEXT NOT NULL,
  status TEXT NOT NULL
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  priority INTEGER NOT NULL DEFAULT 0,
  result_label TEXT,
  result_score REAL,
  error TEXT,
  metadata TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  run_after INTEGER NOT NULL,
  lease_token TEXT,
  lease_expires_at INTEGER,
  worker TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER,
  updated_at INTEGER NOT NULL
);

CREATE UNIQUE INDEX ml_jobs_job_uuid_key ON ml_jobs (job_uuid);
CREATE INDEX ml_jobs_created_idx ON ml_jobs (created_at DESC, id DESC);
CREATE INDEX ml_jobs_status_created_idx ON ml_jobs (status, created_at DESC, id DESC);
CREATE INDEX ml_jobs_model_created_idx ON ml_jobs (model, created_at DESC, id DESC);
CREATE INDEX ml_jobs_owner_created_idx ON ml_jobs (owner, created_at DESC, id DESC);
CREATE INDEX ml_jobs_pending_claim_idx ON ml_jobs (priority DESC, created_at, id)
  WHERE status = 'pending';

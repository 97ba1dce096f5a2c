-- Finished jobs moved out of ml_jobs by POST /admin/archive-jobs: same columns plus
-- archived_at. A job lives in exactly one of ml_jobs and ml_jobs_archive: each archive
-- batch moves its rows in one transaction.
CREATE TABLE ml_jobs_archive (
  id INTEGER PRIMARY KEY,
  job_uuid TEXT NOT NULL,
  owner TEXT NOT NULL,
  model TEXT NOT NULL,
  input_text TEXT NOT NULL,
  status TEXT NOT NULL,
  priority INTEGER NOT NULL,
  result_label TEXT,
  result_score REAL,
  error TEXT,
  metadata TEXT,
  attempts INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  run_after INTEGER NOT NULL,
  lease_token TEXT,
  lease_expires_at INTEGER,
  worker TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  archived_at INTEGER NOT NULL
);

CREATE UNIQUE INDEX ml_jobs_archive_job_uuid_idx ON ml_jobs_archive (job_uuid);
CREATE INDEX ml_jobs_archive_created_idx ON ml_jobs_archive (created_at DESC, id DESC);
-- Purge order.
CREATE INDEX ml_jobs_archive_completed_idx ON ml_jobs_archive (completed_at, id);

-- The archive's candidate scan: finished jobs in completed_at order, finished rows only.
CREATE INDEX ml_jobs_finished_completed_idx ON ml_jobs (completed_at, id)
  WHERE status IN ('completed', 'failed', 'cancelled');

-- Counters of archived rows under the YYYYMM of completed_at (as on PostgreSQL, where that
-- is the row's partition).
CREATE TRIGGER ml_jobs_archive_count_insert AFTER INSERT ON ml_jobs_archive
WHEN NOT EXISTS (SELECT 1 FROM mljobs_meta WHERE key = 'counters_paused')
BEGIN
  INSERT INTO ml_jobs_count_change VALUES (1, NEW.status, NEW.model, NEW.created_at,
    NEW.started_at, NEW.completed_at, NEW.updated_at,
    CAST(strftime('%Y%m', NEW.completed_at / 1000000, 'unixepoch') AS INTEGER));
END;

CREATE TRIGGER ml_jobs_archive_count_delete AFTER DELETE ON ml_jobs_archive
WHEN NOT EXISTS (SELECT 1 FROM mljobs_meta WHERE key = 'counters_paused')
BEGIN
  INSERT INTO ml_jobs_count_change VALUES (-1, OLD.status, OLD.model, OLD.created_at,
    OLD.started_at, OLD.completed_at, OLD.updated_at,
    CAST(strftime('%Y%m', OLD.completed_at / 1000000, 'unixepoch') AS INTEGER));
END;

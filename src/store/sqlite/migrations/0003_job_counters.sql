-- Statistics kept by triggers in the same transaction as every write to ml_jobs (and, from
-- 0004, to ml_jobs_archive), so GET /jobs/stats sums a small table instead of scanning jobs.
-- Same layout as the PostgreSQL schema (see its 0003): one row per (metric, key); times are
-- µs since the epoch; hour = 0 for metrics without one. SQLite has one writer, so every
-- row is shard 0.
CREATE TABLE ml_jobs_counters (
  metric TEXT NOT NULL,
  status TEXT NOT NULL,
  model TEXT NOT NULL,
  hour INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  archive_month INTEGER NOT NULL,
  shard INTEGER NOT NULL,
  jobs INTEGER NOT NULL,
  micros INTEGER NOT NULL,
  PRIMARY KEY (metric, hour, status, model, bucket, archive_month, shard)
) WITHOUT ROWID;

-- Run-time histogram bounds in µs (1 ms .. 1 day); longer runs land in the last bucket.
CREATE TABLE ml_jobs_run_buckets (upper_us INTEGER PRIMARY KEY);
INSERT INTO ml_jobs_run_buckets (upper_us) VALUES (1000), (2000), (5000), (10000), (20000),
  (50000), (100000), (200000), (500000), (1000000), (2000000), (5000000), (10000000),
  (30000000), (60000000), (120000000), (300000000), (600000000), (1800000000), (3600000000),
  (21600000000), (86400000000), (9223372036854775000);

-- A write-only view: inserting a row into it adds that job row's contributions to the
-- counters (sign -1 subtracts them), so the counting rules are written once for every
-- trigger below. Nothing is stored in it.
CREATE VIEW ml_jobs_count_change AS
SELECT 0 AS sign, '' AS status, '' AS model, 0 AS created_at, 0 AS started_at,
       0 AS completed_at, 0 AS updated_at, 0 AS archive_month
WHERE 0;

CREATE TRIGGER ml_jobs_count_change_apply INSTEAD OF INSERT ON ml_jobs_count_change
BEGIN
  INSERT INTO ml_jobs_counters
    (metric, status, model, hour, bucket, archive_month, shard, jobs, micros)
  VALUES ('jobs', NEW.status, NEW.model, 0, 0, NEW.archive_month, 0, NEW.sign, 0)
  ON CONFLICT (metric, hour, status, model, bucket, archive_month, shard)
  DO UPDATE SET jobs = jobs + excluded.jobs;

  INSERT INTO ml_jobs_counters
    (metric, status, model, hour, bucket, archive_month, shard, jobs, micros)
  VALUES ('created', '', '', NEW.created_at - NEW.created_at % 3600000000, 0,
          NEW.archive_month, 0, NEW.sign, 0)
  ON CONFLICT (metric, hour, status, model, bucket, archive_month, shard)
  DO UPDATE SET jobs = jobs + excluded.jobs;

  INSERT INTO ml_jobs_counters
    (metric, status, model, hour, bucket, archive_month, shard, jobs, micros)
  SELECT 'completed', '', '', NEW.completed_at - NEW.completed_at % 3600000000, 0,
         NEW.archive_month, 0, NEW.sign, 0
  WHERE NEW.status = 'completed' AND NEW.completed_at IS NOT NULL
  ON CONFLICT (metric, hour, status, model, bucket, archive_month, shard)
  DO UPDATE SET jobs = jobs + excluded.jobs;

  INSERT INTO ml_jobs_counters
    (metric, status, model, hour, bucket, archive_month, shard, jobs, micros)
  SELECT 'failed', '', '', t - t % 3600000000, 0, NEW.archive_month, 0, NEW.sign, 0
  FROM (SELECT coalesce(NEW.completed_at, NEW.updated_at) AS t)
  WHERE NEW.status = 'failed'
  ON CONFLICT (metric, hour, status, model, bucket, archive_month, shard)
  DO UPDATE SET jobs = jobs + excluded.jobs;

  INSERT INTO ml_jobs_counters
    (metric, status, model, hour, bucket, archive_month, shard, jobs, micros)
  SELECT 'run_time', '', '', 0,
         (SELECT min(upper_us) FROM ml_jobs_run_buckets WHERE upper_us >= d.us),
         NEW.archive_month, 0, NEW.sign, NEW.sign * d.us
  FROM (SELECT max(0, NEW.completed_at - NEW.started_at) AS us) AS d
  WHERE NEW.status = 'completed' AND NEW.started_at IS NOT NULL
    AND NEW.completed_at IS NOT NULL
  ON CONFLICT (metric, hour, status, model, bucket, archive_month, shard)
  DO UPDATE SET jobs = jobs + excluded.jobs, micros = micros + excluded.micros;
END;

-- Bulk loaders pause counting with
--   INSERT INTO mljobs_meta (key, value) VALUES ('counters_paused', '1')
-- and, after loading, delete that row and call StatsStore::RebuildCounters.
CREATE TRIGGER ml_jobs_count_insert AFTER INSERT ON ml_jobs
WHEN NOT EXISTS (SELECT 1 FROM mljobs_meta WHERE key = 'counters_paused')
BEGIN
  INSERT INTO ml_jobs_count_change VALUES (1, NEW.status, NEW.model, NEW.created_at,
    NEW.started_at, NEW.completed_at, NEW.updated_at, 0);
END;

CREATE TRIGGER ml_jobs_count_delete AFTER DELETE ON ml_jobs
WHEN NOT EXISTS (SELECT 1 FROM mljobs_meta WHERE key = 'counters_paused')
BEGIN
  INSERT INTO ml_jobs_count_change VALUES (-1, OLD.status, OLD.model, OLD.created_at,
    OLD.started_at, OLD.completed_at, OLD.updated_at, 0);
END;

-- Only when a counted column changed (heartbeats and lease renewals change none).
CREATE TRIGGER ml_jobs_count_update AFTER UPDATE ON ml_jobs
WHEN NOT EXISTS (SELECT 1 FROM mljobs_meta WHERE key = 'counters_paused')
  AND (OLD.status IS NOT NEW.status OR OLD.model IS NOT NEW.model
       OR OLD.created_at IS NOT NEW.created_at OR OLD.started_at IS NOT NEW.started_at
       OR OLD.completed_at IS NOT NEW.completed_at
       OR ((OLD.status = 'failed' OR NEW.status = 'failed')
           AND OLD.updated_at IS NOT NEW.updated_at))
BEGIN
  INSERT INTO ml_jobs_count_change VALUES (-1, OLD.status, OLD.model, OLD.created_at,
    OLD.started_at, OLD.completed_at, OLD.updated_at, 0);
  INSERT INTO ml_jobs_count_change VALUES (1, NEW.status, NEW.model, NEW.created_at,
    NEW.started_at, NEW.completed_at, NEW.updated_at, 0);
END;

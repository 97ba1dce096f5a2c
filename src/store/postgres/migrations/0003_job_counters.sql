-- Statistics kept by triggers in the same transaction as every write to ml_jobs (and, from
-- 0004, to ml_jobs_archive), so GET /jobs/stats sums a small table instead of scanning jobs.
--
-- One table holds every figure; a row is one (metric, key) of one shard:
--   jobs      jobs per (status, model)                                  hour = epoch
--   created   jobs per hour of created_at                               status = model = ''
--   completed completed jobs per hour of completed_at
--   failed    failed jobs per hour of coalesce(completed_at, updated_at)
--   run_time  completed jobs per run-time bucket (bucket = its upper bound in µs);
--             micros sums their run times (completed_at - started_at)
-- archive_month is 0 for live rows, else YYYYMM of the archived row's completed_at (its
-- partition), so dropping a partition drops its counters with it.
-- shard spreads concurrent writers over different rows (pg_backend_pid() % 16), so they
-- never wait on one counter row; readers sum over shards.
CREATE TABLE ml_jobs_counters (
  metric text NOT NULL,
  status text NOT NULL,
  model text NOT NULL,
  hour timestamptz NOT NULL,
  bucket bigint NOT NULL,
  archive_month integer NOT NULL,
  shard smallint NOT NULL,
  jobs bigint NOT NULL,
  micros bigint NOT NULL,
  PRIMARY KEY (metric, hour, status, model, bucket, archive_month, shard)
);

-- Run-time histogram bounds in µs (1 ms .. 1 day); longer runs land in the last bucket.
CREATE TABLE ml_jobs_run_buckets (upper_us bigint PRIMARY KEY);
INSERT INTO ml_jobs_run_buckets (upper_us)
SELECT ms * 1000 FROM unnest(ARRAY[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000,
  10000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000, 21600000, 86400000,
  9223372036854775]::bigint[]) AS ms;

-- What one job row adds to the counters (a removed row subtracts the same).
CREATE TYPE ml_jobs_stat_row AS (
  sign integer,
  status text,
  model text,
  created_at timestamptz,
  started_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz,
  archive_month integer
);

CREATE FUNCTION ml_jobs_contributions(r ml_jobs_stat_row)
RETURNS TABLE (metric text, status text, model text, hour timestamptz, bucket bigint,
               micros bigint)
LANGUAGE sql STABLE AS $$
  SELECT 'jobs', r.status, r.model, timestamptz 'epoch', 0::bigint, 0::bigint
  UNION ALL
  SELECT 'created', '', '', date_bin('1 hour', r.created_at, timestamptz 'epoch'), 0, 0
  UNION ALL
  SELECT 'completed', '', '', date_bin('1 hour', r.completed_at, timestamptz 'epoch'), 0, 0
  WHERE r.status = 'completed' AND r.completed_at IS NOT NULL
  UNION ALL
  SELECT 'failed', '', '',
         date_bin('1 hour', coalesce(r.completed_at, r.updated_at), timestamptz 'epoch'), 0, 0
  WHERE r.status = 'failed'
  UNION ALL
  SELECT 'run_time', '', '', timestamptz 'epoch',
         (SELECT min(b.upper_us) FROM ml_jobs_run_buckets b WHERE b.upper_us >= d.us), d.us
  FROM (SELECT greatest(0, (extract(epoch FROM r.completed_at - r.started_at) * 1000000)::bigint)
               AS us) d
  WHERE r.status = 'completed' AND r.started_at IS NOT NULL AND r.completed_at IS NOT NULL
$$;

-- Adds the rows' contributions (negative for rows gone), one upsert per counter row.
-- Rows are grouped first, so the upsert never touches a row twice; net-zero changes (a
-- row updated without changing what it counts as) write nothing.
CREATE FUNCTION ml_jobs_apply_counts(changes ml_jobs_stat_row[]) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO ml_jobs_counters AS c
    (metric, status, model, hour, bucket, archive_month, shard, jobs, micros)
  SELECT x.metric, x.status, x.model, x.hour, x.bucket, r.archive_month,
         (pg_backend_pid() % 16)::smallint, sum(r.sign), sum(r.sign * x.micros)
  FROM unnest(changes) AS r CROSS JOIN LATERAL ml_jobs_contributions(r) AS x
  GROUP BY x.metric, x.status, x.model, x.hour, x.bucket, r.archive_month
  HAVING sum(r.sign) <> 0 OR sum(r.sign * x.micros) <> 0
  ON CONFLICT (metric, hour, status, model, bucket, archive_month, shard)
  DO UPDATE SET jobs = c.jobs + EXCLUDED.jobs, micros = c.micros + EXCLUDED.micros
$$;

-- Statement-level (transition tables): a batch insert or an archive batch of 10,000 rows
-- costs a few grouped upserts, not 10,000 row-trigger calls. Bulk loaders skip it: see
-- docs/OPERATIONS.md (session_replication_role = replica, then RebuildCounters).
CREATE FUNCTION ml_jobs_count_live() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM ml_jobs_apply_counts(ARRAY(
      SELECT ROW(1, n.status, n.model, n.created_at, n.started_at, n.completed_at,
                 n.updated_at, 0)::ml_jobs_stat_row FROM new_rows n));
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM ml_jobs_apply_counts(ARRAY(
      SELECT ROW(-1, o.status, o.model, o.created_at, o.started_at, o.completed_at,
                 o.updated_at, 0)::ml_jobs_stat_row FROM old_rows o));
  ELSE
    -- Only rows whose counted columns changed (heartbeats and lease renewals change none).
    PERFORM ml_jobs_apply_counts(ARRAY(
      SELECT s FROM old_rows o JOIN new_rows n ON n.id = o.id
      CROSS JOIN LATERAL (VALUES
        (ROW(-1, o.status, o.model, o.created_at, o.started_at, o.completed_at,
             o.updated_at, 0)::ml_jobs_stat_row),
        (ROW(1, n.status, n.model, n.created_at, n.started_at, n.completed_at,
             n.updated_at, 0)::ml_jobs_stat_row)) AS v(s)
      WHERE (o.status, o.model, o.created_at, o.started_at, o.completed_at,
             CASE WHEN o.status = 'failed' THEN o.updated_at END)
            IS DISTINCT FROM
            (n.status, n.model, n.created_at, n.started_at, n.completed_at,
             CASE WHEN n.status = 'failed' THEN n.updated_at END)));
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER ml_jobs_count_insert AFTER INSERT ON ml_jobs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ml_jobs_count_live();
CREATE TRIGGER ml_jobs_count_update AFTER UPDATE ON ml_jobs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ml_jobs_count_live();
CREATE TRIGGER ml_jobs_count_delete AFTER DELETE ON ml_jobs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ml_jobs_count_live();

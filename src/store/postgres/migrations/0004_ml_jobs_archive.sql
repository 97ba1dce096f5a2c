-- Finished jobs moved out of ml_jobs by POST /admin/archive-jobs. Range-partitioned by
-- month of completed_at (UTC), so retention drops whole partitions. A job lives in exactly
-- one of ml_jobs and ml_jobs_archive: each archive batch is one DELETE ... RETURNING
-- feeding this INSERT.
CREATE TABLE ml_jobs_archive (
  id bigint NOT NULL,
  job_uuid uuid NOT NULL,
  owner text NOT NULL,
  model text NOT NULL,
  input_text text NOT NULL,
  status text NOT NULL,
  priority integer NOT NULL,
  result_label text,
  result_score double precision,
  error text,
  metadata jsonb,
  attempts integer NOT NULL,
  max_attempts integer NOT NULL,
  run_after timestamptz NOT NULL,
  lease_token uuid,
  lease_expires_at timestamptz,
  worker text,
  created_at timestamptz NOT NULL,
  started_at timestamptz,
  completed_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  archived_at timestamptz NOT NULL,
  PRIMARY KEY (id, completed_at)
) PARTITION BY RANGE (completed_at);

-- GET /jobs/{id} on archived jobs. Not unique: a unique index on a partitioned table must
-- contain completed_at; uniqueness holds because uuids are unique in ml_jobs and a job is
-- moved, never copied.
CREATE INDEX ml_jobs_archive_job_uuid_idx ON ml_jobs_archive (job_uuid);
-- Purge of the boundary month, oldest first.
CREATE INDEX ml_jobs_archive_completed_idx ON ml_jobs_archive (completed_at, id);
-- Lists with include_archived=true (newest first).
CREATE INDEX ml_jobs_archive_created_idx ON ml_jobs_archive (created_at DESC, id DESC);

-- The archive's candidate scan: finished jobs in completed_at order. Partial, so it holds
-- only finished rows (pending and running rows, the hot part of the table, stay out).
CREATE INDEX ml_jobs_finished_completed_idx ON ml_jobs (completed_at, id)
  WHERE status IN ('completed', 'failed', 'cancelled');

-- Creates the month partition holding `at` (UTC) unless it exists. Called by the archiver
-- before each batch for the months the batch covers.
CREATE FUNCTION ml_jobs_archive_ensure_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  month_start timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  name text := 'ml_jobs_archive_' || to_char(at AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
  IF to_regclass(name) IS NULL THEN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF ml_jobs_archive '
                   'FOR VALUES FROM (%L) TO (%L)',
                   name, month_start, month_start + interval '1 month');
  END IF;
  RETURN name;
END
$$;

-- Retention: drops the partition of one month (YYYYMM) with its counters, atomically (one
-- call, one transaction). Constant time: no row is read or deleted one by one. Returns how
-- many jobs it held (from the counters), or NULL when there was no such partition.
CREATE FUNCTION ml_jobs_archive_drop_month(month integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  name text := 'ml_jobs_archive_' || lpad(month::text, 6, '0');
  jobs_held bigint;
BEGIN
  IF to_regclass(name) IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT coalesce(sum(c.jobs), 0) INTO jobs_held FROM ml_jobs_counters c
  WHERE c.metric = 'jobs' AND c.archive_month = month;
  DELETE FROM ml_jobs_counters c WHERE c.archive_month = month;
  EXECUTE format('DROP TABLE %I', name);
  RETURN jobs_held;
END
$$;

-- Counters of archived rows, keyed by their partition's month (see 0003).
CREATE FUNCTION ml_jobs_count_archive() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM ml_jobs_apply_counts(ARRAY(
      SELECT ROW(1, n.status, n.model, n.created_at, n.started_at, n.completed_at,
                 n.updated_at, to_char(n.completed_at AT TIME ZONE 'UTC', 'YYYYMM')::int)
             ::ml_jobs_stat_row FROM new_rows n));
  ELSE
    PERFORM ml_jobs_apply_counts(ARRAY(
      SELECT ROW(-1, o.status, o.model, o.created_at, o.started_at, o.completed_at,
                 o.updated_at, to_char(o.completed_at AT TIME ZONE 'UTC', 'YYYYMM')::int)
             ::ml_jobs_stat_row FROM old_rows o));
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER ml_jobs_archive_count_insert AFTER INSERT ON ml_jobs_archive
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ml_jobs_count_archive();
CREATE TRIGGER ml_jobs_archive_count_delete AFTER DELETE ON ml_jobs_archive
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ml_jobs_count_archive();

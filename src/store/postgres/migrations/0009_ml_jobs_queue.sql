-- The runnable set of the work queue in its own small table (issue 4): one row per pending
-- job, kept in step with ml_jobs by the triggers below. Claims walk its claim index
-- instead of a partial index on ml_jobs.
--
-- Why: a claim removes jobs from the head of the claim order and new jobs join at the
-- tail, so the head of any claim index fills with entries of jobs already claimed. No
-- insert ever lands there to prune them; only VACUUM removes them, and VACUUM of ml_jobs
-- must scan all of its indexes (gigabytes at 10M rows), so it runs rarely. Measured on
-- 1M rows after 250,000 claims: finding the next 10 pending jobs read 1,082 buffers and
-- took 36 ms, growing with every claim. This table holds only pending jobs, so the
-- server can VACUUM it every second or so (PgQueueStore::Tidy) for a few milliseconds,
-- and a claim reads a handful of pages however long the queue has run.
CREATE TABLE ml_jobs_queue (
  job_id bigint PRIMARY KEY,
  priority integer NOT NULL,
  created_at timestamptz NOT NULL,
  run_after timestamptz NOT NULL,
  model text COLLATE "C" NOT NULL
);
-- Claim order: priority, then age.
CREATE INDEX ml_jobs_queue_claim_idx ON ml_jobs_queue (priority DESC, created_at, job_id);

INSERT INTO ml_jobs_queue (job_id, priority, created_at, run_after, model)
SELECT id, priority, created_at, run_after, model FROM ml_jobs WHERE status = 'pending';

-- Replaced by ml_jobs_queue_claim_idx; one index fewer for every write to ml_jobs.
DROP INDEX ml_jobs_pending_claim_idx;

-- A row is in ml_jobs_queue exactly while its job is pending. Statement-level, sharing the
-- transition tables the counter triggers already build; ANY(ARRAY(...)) keeps each
-- statement on the primary key whatever the number of rows. Planned once per session.
CREATE FUNCTION ml_jobs_queue_sync() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO ml_jobs_queue (job_id, priority, created_at, run_after, model)
    SELECT id, priority, created_at, run_after, model FROM new_rows WHERE status = 'pending';
  ELSIF TG_OP = 'UPDATE' THEN
    -- Claimed or cancelled (a row that was not queued is simply not found).
    DELETE FROM ml_jobs_queue
    WHERE job_id = ANY(ARRAY(SELECT id FROM new_rows WHERE status <> 'pending'));
    -- Pending again (a retry, an expired lease), or a queued job whose claim key changed.
    INSERT INTO ml_jobs_queue (job_id, priority, created_at, run_after, model)
    SELECT id, priority, created_at, run_after, model FROM new_rows WHERE status = 'pending'
    ON CONFLICT (job_id) DO UPDATE SET priority = EXCLUDED.priority,
      created_at = EXCLUDED.created_at, run_after = EXCLUDED.run_after, model = EXCLUDED.model;
  ELSIF TG_OP = 'DELETE' THEN
    DELETE FROM ml_jobs_queue
    WHERE job_id = ANY(ARRAY(SELECT id FROM old_rows WHERE status = 'pending'));
  ELSE
    TRUNCATE ml_jobs_queue;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER ml_jobs_queue_insert AFTER INSERT ON ml_jobs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ml_jobs_queue_sync();
CREATE TRIGGER ml_jobs_queue_update AFTER UPDATE ON ml_jobs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ml_jobs_queue_sync();
CREATE TRIGGER ml_jobs_queue_delete AFTER DELETE ON ml_jobs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ml_jobs_queue_sync();
CREATE TRIGGER ml_jobs_queue_truncate AFTER TRUNCATE ON ml_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION ml_jobs_queue_sync();

-- The work queue (issue 4): the reaper's index on running leases, and a wake-up signal for
-- long-polling claims whenever jobs are inserted.

-- Expired leases: the reaper reads running rows by lease_expires_at. Partial, so it holds
-- only the jobs running right now (at most a few thousand) however large ml_jobs grows.
CREATE INDEX ml_jobs_running_lease_idx ON ml_jobs (lease_expires_at)
  WHERE status = 'running';

-- One NOTIFY per INSERT statement (not per row): a batch of 10,000 jobs wakes the
-- listeners once. PostgreSQL delivers it at commit, so a woken claim sees the rows.
CREATE FUNCTION mljobs_notify_new_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mljobs_new_jobs', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER ml_jobs_notify_new_jobs AFTER INSERT ON ml_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION mljobs_notify_new_jobs();

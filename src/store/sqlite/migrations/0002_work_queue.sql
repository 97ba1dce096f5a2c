-- The work queue (issue 4): the reaper reads running rows by lease_expires_at. Partial, so
-- it holds only the jobs running right now however large ml_jobs grows.
CREATE INDEX ml_jobs_running_lease_idx ON ml_jobs (lease_expires_at)
  WHERE status = 'running';

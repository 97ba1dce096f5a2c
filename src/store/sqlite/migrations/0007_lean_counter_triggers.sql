-- Cheaper counting of the work queue's commonest updates (issue 4); same rules and the same
-- ml_jobs_counters rows as 0003. A claim, a lease expiry or a cancel moves a job between
-- statuses that no per-hour or run-time figure looks at (pending, running, cancelled), so
-- only jobs per (status, model) changes: two upserts here instead of 0003's update trigger
-- taking the whole row out and back in through ml_jobs_count_change (ten upsert
-- statements, the created-per-hour row written twice to net zero).

DROP TRIGGER ml_jobs_count_update;

CREATE TRIGGER ml_jobs_count_update_status AFTER UPDATE ON ml_jobs
WHEN NOT EXISTS (SELECT 1 FROM mljobs_meta WHERE key = 'counters_paused')
  AND (OLD.status IS NOT NEW.status OR OLD.model IS NOT NEW.model)
  AND OLD.created_at IS NEW.created_at
  AND OLD.status NOT IN ('completed', 'failed') AND NEW.status NOT IN ('completed', 'failed')
BEGIN
  INSERT INTO ml_jobs_counters
    (metric, status, model, hour, bucket, archive_month, shard, jobs, micros)
  VALUES ('jobs', OLD.status, OLD.model, 0, 0, 0, 0, -1, 0),
         ('jobs', NEW.status, NEW.model, 0, 0, 0, 0, 1, 0)
  ON CONFLICT (metric, hour, status, model, bucket, archive_month, shard)
  DO UPDATE SET jobs = jobs + excluded.jobs;
END;

-- Every other change of a counted column (0003's condition, less the case above): the old
-- row's contributions out, the new row's in.
CREATE TRIGGER ml_jobs_count_update AFTER UPDATE ON ml_jobs
WHEN NOT EXISTS (SELECT 1 FROM mljobs_meta WHERE key = 'counters_paused')
  AND (OLD.status IS NOT NEW.status OR OLD.model IS NOT NEW.model
       OR OLD.created_at IS NOT NEW.created_at OR OLD.started_at IS NOT NEW.started_at
       OR OLD.completed_at IS NOT NEW.completed_at
       OR ((OLD.status = 'failed' OR NEW.status = 'failed')
           AND OLD.updated_at IS NOT NEW.updated_at))
  AND NOT (OLD.created_at IS NEW.created_at
           AND OLD.status NOT IN ('completed', 'failed')
           AND NEW.status NOT IN ('completed', 'failed'))
BEGIN
  INSERT INTO ml_jobs_count_change VALUES (-1, OLD.status, OLD.model, OLD.created_at,
    OLD.started_at, OLD.completed_at, OLD.updated_at, 0);
  INSERT INTO ml_jobs_count_change VALUES (1, NEW.status, NEW.model, NEW.created_at,
    NEW.started_at, NEW.completed_at, NEW.updated_at, 0);
END;

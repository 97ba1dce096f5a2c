-- Cheaper and deadlock-free counter upserts (issue 4). Same counting rules and the same
-- ml_jobs_counters rows as 0003; only how the triggers apply them changes.
--
-- Why: 0003's ml_jobs_apply_counts is LANGUAGE sql, and PostgreSQL 15 parses, rewrites and
-- plans every statement of a SQL function on every call (inlining ml_jobs_contributions
-- each time). Profiled under the queue benchmark, that planning was two thirds of the
-- trigger's cost and the trigger almost half of PostgreSQL's CPU per claim or completion.
-- PL/pgSQL keeps the plan of a static statement for the session, so the same upsert in
-- PL/pgSQL is planned once per connection: force_generic_plan, since with its array
-- parameter the plan cache would otherwise judge a custom plan (planned per call) cheaper.
--
-- Deadlocks: two transactions whose backends share a shard (pid % 16) upsert the same
-- counter rows; each statement's upsert used to take their row locks in hash-aggregate
-- order, so two statements could lock (a, b) and (b, a) and deadlock. ORDER BY the conflict
-- key makes every upsert lock its rows in one global order.
CREATE OR REPLACE FUNCTION ml_jobs_apply_counts(changes ml_jobs_stat_row[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  INSERT INTO ml_jobs_counters AS c
    (metric, status, model, hour, bucket, archive_month, shard, jobs, micros)
  SELECT x.metric, x.status, x.model, x.hour, x.bucket, r.archive_month,
         (pg_backend_pid() % 16)::smallint, sum(r.sign), sum(r.sign * x.micros)
  FROM unnest(changes) AS r CROSS JOIN LATERAL ml_jobs_contributions(r) AS x
  GROUP BY x.metric, x.hour, x.status, x.model, x.bucket, r.archive_month
  HAVING sum(r.sign) <> 0 OR sum(r.sign * x.micros) <> 0
  ORDER BY x.metric, x.hour, x.status, x.model, x.bucket, r.archive_month
  ON CONFLICT (metric, hour, status, model, bucket, archive_month, shard)
  DO UPDATE SET jobs = c.jobs + EXCLUDED.jobs, micros = c.micros + EXCLUDED.micros;
END
$$;

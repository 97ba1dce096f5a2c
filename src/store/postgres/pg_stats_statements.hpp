// The fixed SQL of the PostgreSQL statistics store (ml_jobs_counters, see migration 0003).
// Each statement is a named constant whose name is its statement name. Data only.
#pragma once

#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {

// Every counter summed over shards; live and archived rows apart; `created` only for the
// hours from $1. Reads ml_jobs_counters only, whose size follows models, hours and months,
// never the job count.
inline constexpr PgStatement kStatsSnapshot{
    "stats_snapshot",
    "SELECT metric, (archive_month <> 0)::int4 AS archived, status, model, bucket, "
    "sum(jobs)::int8 AS jobs, sum(micros)::int8 AS micros "
    "FROM ml_jobs_counters "
    "WHERE metric IN ('jobs', 'run_time') OR (metric = 'created' AND hour >= $1::timestamptz) "
    "GROUP BY metric, archive_month <> 0, status, model, bucket"};

// Per-hour counts in [$1, $2): a range of the primary key (metric, hour, ...) per metric.
inline constexpr PgStatement kStatsHours{
    "stats_hours",
    "SELECT hour, "
    "coalesce(sum(jobs) FILTER (WHERE metric = 'created'), 0)::int8 AS created, "
    "coalesce(sum(jobs) FILTER (WHERE metric = 'completed'), 0)::int8 AS completed, "
    "coalesce(sum(jobs) FILTER (WHERE metric = 'failed'), 0)::int8 AS failed "
    "FROM ml_jobs_counters "
    "WHERE metric IN ('created', 'completed', 'failed') "
    "AND hour >= $1::timestamptz AND hour < $2::timestamptz "
    "GROUP BY hour HAVING sum(jobs) <> 0 ORDER BY hour"};

// RebuildCounters: one transaction. SHARE mode lets readers on and keeps every writer of
// either table out, so no trigger adds to a counter between the DELETE and the INSERT.
inline constexpr PgStatement kRebuildBegin{"rebuild_counters_begin", "BEGIN"};
inline constexpr PgStatement kRebuildLock{
    "rebuild_counters_lock", "LOCK TABLE ml_jobs, ml_jobs_archive IN SHARE MODE"};
inline constexpr PgStatement kRebuildClear{"rebuild_counters_clear",
                                           "DELETE FROM ml_jobs_counters"};
// The counting rules of the triggers (ml_jobs_contributions), set-based over every live and
// archived row: one GROUP BY per metric on plain columns (each a parallel scan) instead of
// a function call and a bucket subquery per row, which took ~70 s of a 10M-row seed. The
// run-time bucket is the smallest bound >= the run time: width_bucket counts the bounds
// below it. MLJOBS_COUNTED_ROWS is the row source of every branch (inlined, not a CTE:
// a CTE read five times would be materialized).
#define MLJOBS_COUNTED_ROWS                                                                \
  "(SELECT status, model, created_at, started_at, completed_at, updated_at, "               \
  "0 AS archive_month FROM ml_jobs UNION ALL "                                              \
  "SELECT status, model, created_at, started_at, completed_at, updated_at, "                \
  "to_char(completed_at AT TIME ZONE 'UTC', 'YYYYMM')::int FROM ml_jobs_archive) AS r "
#define MLJOBS_HOUR(at) "date_bin('1 hour', " at ", timestamptz 'epoch')"
inline constexpr PgStatement kRebuildFill{
    "rebuild_counters_fill",
    "INSERT INTO ml_jobs_counters "
    "(metric, status, model, hour, bucket, archive_month, shard, jobs, micros) "
    "SELECT 'jobs', status, model, timestamptz 'epoch', 0, archive_month, 0, count(*), 0 "
    "FROM " MLJOBS_COUNTED_ROWS "GROUP BY status, model, archive_month "
    "UNION ALL "
    "SELECT 'created', '', '', " MLJOBS_HOUR("created_at") " AS h, 0, archive_month, 0, "
    "count(*), 0 FROM " MLJOBS_COUNTED_ROWS "GROUP BY h, archive_month "
    "UNION ALL "
    "SELECT 'completed', '', '', " MLJOBS_HOUR("completed_at") " AS h, 0, archive_month, 0, "
    "count(*), 0 FROM " MLJOBS_COUNTED_ROWS
    "WHERE status = 'completed' AND completed_at IS NOT NULL GROUP BY h, archive_month "
    "UNION ALL "
    "SELECT 'failed', '', '', " MLJOBS_HOUR("coalesce(completed_at, updated_at)") " AS h, 0, "
    "archive_month, 0, count(*), 0 FROM " MLJOBS_COUNTED_ROWS
    "WHERE status = 'failed' GROUP BY h, archive_month "
    "UNION ALL "
    "SELECT 'run_time', '', '', timestamptz 'epoch', "
    "k.bounds[width_bucket(d.us - 1, k.bounds) + 1] AS b, d.archive_month, 0, count(*), "
    "sum(d.us) "
    "FROM (SELECT array_agg(upper_us ORDER BY upper_us) AS bounds FROM ml_jobs_run_buckets) "
    "AS k, (SELECT archive_month, greatest(0, (extract(epoch FROM completed_at - started_at) "
    "* 1000000)::bigint) AS us FROM " MLJOBS_COUNTED_ROWS
    "WHERE status = 'completed' AND started_at IS NOT NULL AND completed_at IS NOT NULL) AS d "
    "GROUP BY b, d.archive_month"};
#undef MLJOBS_HOUR
#undef MLJOBS_COUNTED_ROWS
inline constexpr PgStatement kRebuildCommit{"rebuild_counters_commit", "COMMIT"};

}  // namespace mljobs::store::postgres

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
// The same counting rules as the triggers (ml_jobs_contributions), over every row.
inline constexpr PgStatement kRebuildFill{
    "rebuild_counters_fill",
    "INSERT INTO ml_jobs_counters "
    "(metric, status, model, hour, bucket, archive_month, shard, jobs, micros) "
    "SELECT x.metric, x.status, x.model, x.hour, x.bucket, (s.r).archive_month, 0, count(*), "
    "sum(x.micros) "
    "FROM (SELECT ROW(1, status, model, created_at, started_at, completed_at, updated_at, 0)"
    "::ml_jobs_stat_row AS r FROM ml_jobs "
    "UNION ALL "
    "SELECT ROW(1, status, model, created_at, started_at, completed_at, updated_at, "
    "to_char(completed_at AT TIME ZONE 'UTC', 'YYYYMM')::int)::ml_jobs_stat_row AS r "
    "FROM ml_jobs_archive) AS s "
    "CROSS JOIN LATERAL ml_jobs_contributions(s.r) AS x "
    "GROUP BY x.metric, x.status, x.model, x.hour, x.bucket, (s.r).archive_month"};
inline constexpr PgStatement kRebuildCommit{"rebuild_counters_commit", "COMMIT"};

}  // namespace mljobs::store::postgres

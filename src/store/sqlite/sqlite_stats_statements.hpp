// The fixed SQL of the SQLite statistics store (ml_jobs_counters, see migration 0003).
// Each statement is a named constant whose name is its statement name. Data only.
#pragma once

#include "store/sqlite/sqlite_statements.hpp"

namespace mljobs::store::sqlite {

// Every counter; live and archived rows apart; `created` only for the hours from :since.
// Reads ml_jobs_counters only.
inline constexpr auto kStatsSnapshot = MakeSql(
    "stats_snapshot",
    "SELECT metric, archive_month <> 0, status, model, bucket, sum(jobs), sum(micros) "
    "FROM ml_jobs_counters "
    "WHERE metric IN ('jobs', 'run_time') OR (metric = 'created' AND hour >= :since) "
    "GROUP BY metric, archive_month <> 0, status, model, bucket");

// Per-hour counts in [:from, :to): a range of the primary key (metric, hour, ...).
inline constexpr auto kStatsHours = MakeSql(
    "stats_hours",
    "SELECT hour, "
    "sum(CASE WHEN metric = 'created' THEN jobs ELSE 0 END), "
    "sum(CASE WHEN metric = 'completed' THEN jobs ELSE 0 END), "
    "sum(CASE WHEN metric = 'failed' THEN jobs ELSE 0 END) "
    "FROM ml_jobs_counters "
    "WHERE metric IN ('created', 'completed', 'failed') AND hour >= :from AND hour < :to "
    "GROUP BY hour HAVING sum(jobs) <> 0 ORDER BY hour");

inline constexpr auto kRebuildClear =
    MakeSql("rebuild_counters_clear", "DELETE FROM ml_jobs_counters");

// The counting rules of the triggers (ml_jobs_count_change_apply), set-based over every
// live and archived row.
inline constexpr auto kRebuildFill = MakeSql(
    "rebuild_counters_fill",
    "WITH r AS ("
    "SELECT status, model, created_at, started_at, completed_at, updated_at, 0 AS month "
    "FROM ml_jobs UNION ALL "
    "SELECT status, model, created_at, started_at, completed_at, updated_at, "
    "CAST(strftime('%Y%m', completed_at / 1000000, 'unixepoch') AS INTEGER) FROM ml_jobs_archive"
    "), d AS ("
    "SELECT month, max(0, completed_at - started_at) AS us FROM r "
    "WHERE status = 'completed' AND started_at IS NOT NULL AND completed_at IS NOT NULL) "
    "INSERT INTO ml_jobs_counters "
    "(metric, status, model, hour, bucket, archive_month, shard, jobs, micros) "
    "SELECT 'jobs', status, model, 0, 0, month, 0, count(*), 0 FROM r "
    "GROUP BY status, model, month "
    "UNION ALL "
    "SELECT 'created', '', '', created_at - created_at % 3600000000 AS h, 0, month, 0, "
    "count(*), 0 FROM r GROUP BY h, month "
    "UNION ALL "
    "SELECT 'completed', '', '', completed_at - completed_at % 3600000000 AS h, 0, month, 0, "
    "count(*), 0 FROM r WHERE status = 'completed' AND completed_at IS NOT NULL "
    "GROUP BY h, month "
    "UNION ALL "
    "SELECT 'failed', '', '', coalesce(completed_at, updated_at) - "
    "coalesce(completed_at, updated_at) % 3600000000 AS h, 0, month, 0, count(*), 0 "
    "FROM r WHERE status = 'failed' GROUP BY h, month "
    "UNION ALL "
    "SELECT 'run_time', '', '', 0, b, month, 0, count(*), sum(us) FROM ("
    "SELECT month, us, (SELECT min(upper_us) FROM ml_jobs_run_buckets WHERE upper_us >= us) "
    "AS b FROM d) GROUP BY b, month");

}  // namespace mljobs::store::sqlite

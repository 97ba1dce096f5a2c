// The fixed SQL of the PostgreSQL archive store (ml_jobs_archive, migration 0004). Each
// statement is a named constant whose name is its statement name. Data only.
#pragma once

#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {

// Every column of ml_jobs, in the archive's order (archived_at follows).
#define MLJOBS_PG_ARCHIVE_COLUMNS                                                            \
  "id, job_uuid, owner, model, input_text, status, priority, result_label, result_score, " \
  "error, metadata, attempts, max_attempts, run_after, lease_token, lease_expires_at, "    \
  "worker, created_at, started_at, completed_at, updated_at"

// The next batch's candidates ($1 cutoff, $2 limit) in the order the archive takes them,
// on ml_jobs_finished_completed_idx.
#define MLJOBS_PG_ARCHIVE_CANDIDATES                                                  \
  " FROM ml_jobs "                                                                    \
  "WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at < $1::timestamptz " \
  "ORDER BY completed_at, id LIMIT $2::int4"

// Creates the month partitions the next batch needs (from its oldest to its newest
// completed_at). Steps go from mid-month to mid-month, so no time zone can skip a month.
inline constexpr PgStatement kArchiveEnsurePartitions{
    "archive_ensure_partitions",
    "SELECT ml_jobs_archive_ensure_partition(m) "
    "FROM (SELECT min(completed_at) AS lo, max(completed_at) AS hi FROM (SELECT completed_at"
    MLJOBS_PG_ARCHIVE_CANDIDATES ") AS c) AS r, "
    "generate_series(date_trunc('month', r.lo AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
    "+ interval '14 days', "
    "date_trunc('month', r.hi AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '14 days', "
    "interval '1 month') AS m"};

// One batch, one statement: the rows are locked (SKIP LOCKED: a job a worker is updating
// right now waits for the next run), deleted with their status and age checked again
// under the lock, and inserted into the archive as deleted. A job that changed meanwhile
// no longer matches and stays live. The candidates are a MATERIALIZED CTE, evaluated once:
// as an `id IN (subquery)` the planner may rescan the subquery per row, and each rescan
// skips the rows this statement already deleted and returns the next ones, so the LIMIT
// would bound nothing.
inline constexpr PgStatement kArchiveBatch{
    "archive_batch",
    "WITH picked AS MATERIALIZED (SELECT id" MLJOBS_PG_ARCHIVE_CANDIDATES
    " FOR UPDATE SKIP LOCKED), "
    "moved AS (DELETE FROM ml_jobs WHERE id IN (SELECT id FROM picked) "
    "AND status IN ('completed', 'failed', 'cancelled') AND completed_at < $1::timestamptz "
    "RETURNING " MLJOBS_PG_ARCHIVE_COLUMNS ") "
    "INSERT INTO ml_jobs_archive (" MLJOBS_PG_ARCHIVE_COLUMNS ", archived_at) "
    "SELECT " MLJOBS_PG_ARCHIVE_COLUMNS ", $3::timestamptz FROM moved"};

// Run locks: session advisory locks ($1 the run's key) on a connection of their own,
// held for the run. A crashed holder's session ends and frees it. Keepalives make the
// server notice within about 30 s a holder whose host vanished without closing the socket
// (on TCP; ignored on a Unix socket).
inline constexpr std::string_view kRunLockKeepalives =
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; "
    "SET tcp_keepalives_count = 4";
inline constexpr PgStatement kTryRunLock{"archive_try_run_lock",
                                         "SELECT pg_try_advisory_lock($1::int8)::int4"};
inline constexpr PgStatement kRunUnlock{"archive_run_unlock", "SELECT pg_advisory_unlock($1::int8)"};
// The keys: "mljobs" in ASCII, then 'a' (archive) or 'p' (purge); any other user of
// advisory locks on the database must stay clear of them.
inline constexpr long long kArchiveRunLockKey = 0x6d6c6a6f62730061;
inline constexpr long long kPurgeRunLockKey = 0x6d6c6a6f62730070;

// Months (YYYYMM) of partitions wholly before the cutoff $1.
inline constexpr PgStatement kPurgeExpiredMonths{
    "purge_expired_months",
    "SELECT right(c.relname, 6)::int4 AS month FROM pg_inherits i "
    "JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'ml_jobs_archive'::regclass "
    "AND c.relname ~ '^ml_jobs_archive_[0-9]{6}$' "
    "AND (to_date(right(c.relname, 6), 'YYYYMM')::timestamp + interval '1 month') "
    "AT TIME ZONE 'UTC' <= $1::timestamptz "
    "ORDER BY 1"};

inline constexpr PgStatement kPurgeDropMonth{"purge_drop_month",
                                             "SELECT ml_jobs_archive_drop_month($1::int4)"};

// Inside the boundary month: oldest first, at most $2 rows, on ml_jobs_archive_completed_idx.
inline constexpr PgStatement kPurgeBatch{
    "purge_batch",
    "WITH picked AS MATERIALIZED (SELECT id, completed_at FROM ml_jobs_archive "
    "WHERE completed_at < $1::timestamptz ORDER BY completed_at, id LIMIT $2::int4) "
    "DELETE FROM ml_jobs_archive WHERE (id, completed_at) IN (SELECT id, completed_at FROM picked)"};

}  // namespace mljobs::store::postgres

// The fixed SQL of the PostgreSQL store. Each statement is a named constant whose name is
// also its prepared-statement name and its name in statement statistics. Data only.
#pragma once

#include <string_view>

namespace mljobs::store::postgres {

struct PgStatement {
  std::string_view name;
  std::string_view sql;
  // Planned once per connection (a generic plan) rather than for each run's values (the
  // session default, kSessionSetup): for statements whose best plan does not depend on the
  // values, lookups by key and the work queue's claim and completions, where planning
  // was a fifth of a claim's time (0.2-0.4 ms of 1.5 ms).
  bool generic_plan = false;
};

// Every column but the heavy ones (input_text, metadata). Binary results: the uuids are
// read as text.
#define MLJOBS_PG_LIGHT_COLUMNS                                                                \
  "id, job_uuid::text AS job_uuid, owner, model, status, priority, result_label, "             \
  "result_score, error, attempts, max_attempts, run_after, lease_token::text AS lease_token, " \
  "lease_expires_at, worker, created_at, started_at, completed_at, updated_at"
#define MLJOBS_PG_ALL_COLUMNS MLJOBS_PG_LIGHT_COLUMNS ", input_text, metadata"

// Run once on each new connection. Plans follow the bound values: a generic plan cannot
// tell a rare status from a common one, and for a page of pending jobs may walk
// ml_jobs_created_idx filtering millions of rows. Statements stay prepared (parsed once
// per connection); only planning is repeated, which costs far less than one bad plan.
inline constexpr std::string_view kSessionSetup = "SET plan_cache_mode = force_custom_plan";
// What PgConnection switches to for a pipeline of generic_plan statements.
inline constexpr std::string_view kGenericPlans = "SET plan_cache_mode = force_generic_plan";

inline constexpr PgStatement kPing{"ping", "SELECT 1"};

inline constexpr PgStatement kServerSecret{
    "server_secret", "SELECT value FROM mljobs_meta WHERE key = 'server_secret'"};

// created_at also starts run_after and updated_at.
inline constexpr PgStatement kInsertJob{
    "insert_job",
    "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, priority, metadata, "
    "max_attempts, run_after, created_at, updated_at) "
    "VALUES ($1::uuid, $2::text, $3::text, $4::text, 'pending', $5::int4, $6::jsonb, $7::int4, "
    "$8::timestamptz, $8::timestamptz, $8::timestamptz) "
    "RETURNING " MLJOBS_PG_ALL_COLUMNS,
    true};

// The whole batch is one statement, so it is atomic: one bad row (a duplicate uuid)
// inserts nothing. Arrays are parallel, one element per job.
inline constexpr PgStatement kInsertJobs{
    "insert_jobs",
    "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, priority, metadata, "
    "max_attempts, run_after, created_at, updated_at) "
    "SELECT t.job_uuid::uuid, t.owner, t.model, t.input_text, 'pending', t.priority, "
    "t.metadata::jsonb, t.max_attempts, t.created_at, t.created_at, t.created_at "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::text[], "
    "$7::int4[], $8::timestamptz[]) "
    "AS t(job_uuid, owner, model, input_text, priority, metadata, max_attempts, created_at)",
    true};

// $2 NULL: any owner. The unique job_uuid index finds the row either way; an archived job
// (a job lives in exactly one table) through ml_jobs_archive_job_uuid_idx.
inline constexpr PgStatement kGetJob{
    "get_job",
    "(SELECT " MLJOBS_PG_ALL_COLUMNS ", 0 AS archived"
    " FROM ml_jobs WHERE job_uuid = $1::uuid AND ($2::text IS NULL OR owner = $2::text)) "
    "UNION ALL (SELECT " MLJOBS_PG_ALL_COLUMNS ", 1 AS archived"
    " FROM ml_jobs_archive WHERE job_uuid = $1::uuid AND ($2::text IS NULL OR owner = $2::text)) "
    "LIMIT 1",
    true};

// Only live jobs change; no row back means absent or finished (kGetJob tells which).
inline constexpr PgStatement kCancelJob{
    "cancel_job",
    "UPDATE ml_jobs SET status = 'cancelled', completed_at = $3::timestamptz, "
    "updated_at = $3::timestamptz "
    "WHERE job_uuid = $1::uuid AND ($2::text IS NULL OR owner = $2::text) "
    "AND status IN ('pending', 'running') "
    "RETURNING " MLJOBS_PG_ALL_COLUMNS,
    true};

// Export: a read-only transaction holding a server-side cursor. The cursor name is fixed
// because a connection runs one export at a time.
inline constexpr PgStatement kExportBegin{"export_begin", "BEGIN READ ONLY"};
inline constexpr PgStatement kExportCommit{"export_commit", "COMMIT"};
inline constexpr PgStatement kExportRollback{"export_rollback", "ROLLBACK"};
inline constexpr std::string_view kExportDeclareName = "export_declare";
inline constexpr std::string_view kExportFetchName = "export_fetch";
inline constexpr std::string_view kExportCursor = "mljobs_export";

}  // namespace mljobs::store::postgres

// The fixed SQL of the SQLite backend. Each statement is a named constant whose `name` is
// what RequestStats::RecordStatement records; parameters are named (":uuid") and always
// bound. List, count, estimate and export SQL varies by shape: see sqlite_list_sql.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "store/sqlite/sqlite_job_row.hpp"

namespace mljobs::store::sqlite {

template <std::size_t N>
struct NamedSql {
  std::string_view name;
  std::array<char, N> text;  // NUL-terminated

  std::string_view sql() const { return {text.data(), N - 1}; }
};

// Joins string literals at compile time, so that statements share one column list.
template <std::size_t... N>
consteval auto MakeSql(std::string_view name, const char (&... parts)[N]) {
  NamedSql<(N + ...) - sizeof...(N) + 1> out{name, {}};
  std::size_t pos = 0;
  auto append = [&](const char* part, std::size_t size) {
    for (std::size_t i = 0; i + 1 < size; ++i) out.text[pos++] = part[i];
  };
  (append(parts, N), ...);
  out.text[pos] = '\0';
  return out;
}

// One statement (autocommit): RETURNING hands back the stored row with its id.
inline constexpr auto kInsertJob =
    MakeSql("insert_job",
            "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, priority, metadata, "
            "max_attempts, run_after, created_at, updated_at) "
            "VALUES (:uuid, :owner, :model, :input_text, 'pending', :priority, :metadata, "
            ":max_attempts, :created_at, :created_at, :created_at) RETURNING ",
            kLightColumns, ", input_text, metadata");

// Executed once per row inside one transaction (see SqliteJobStore::InsertBatch).
inline constexpr auto kInsertJobsBatch =
    MakeSql("insert_jobs_batch",
            "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, priority, metadata, "
            "max_attempts, run_after, created_at, updated_at) "
            "VALUES (:uuid, :owner, :model, :input_text, 'pending', :priority, :metadata, "
            ":max_attempts, :created_at, :created_at, :created_at)");

// `:owner IS NULL` lets one statement serve both the admin (any owner) and a user.
// An archived job (a job lives in exactly one table) through ml_jobs_archive_job_uuid_idx.
inline constexpr auto kGetJob =
    MakeSql("get_job", "SELECT ", kLightColumns,
            ", input_text, metadata, 0 AS archived FROM ml_jobs "
            "WHERE job_uuid = :uuid AND (:owner IS NULL OR owner = :owner) "
            "UNION ALL SELECT ", kLightColumns,
            ", input_text, metadata, 1 FROM ml_jobs_archive "
            "WHERE job_uuid = :uuid AND (:owner IS NULL OR owner = :owner) LIMIT 1");

inline constexpr auto kCancelJob =
    MakeSql("cancel_job",
            "UPDATE ml_jobs SET status = 'cancelled', completed_at = :now, updated_at = :now "
            "WHERE job_uuid = :uuid AND (:owner IS NULL OR owner = :owner) "
            "AND status IN ('pending', 'running') RETURNING ",
            kLightColumns, ", input_text, metadata");

// Run only when kCancelJob changed nothing: tells "not found" from "already finished".
inline constexpr auto kCancelLookup =
    MakeSql("cancel_job_lookup", "SELECT ", kLightColumns,
            ", input_text, metadata FROM ml_jobs "
            "WHERE job_uuid = :uuid AND (:owner IS NULL OR owner = :owner)");

inline constexpr auto kServerSecret =
    MakeSql("server_secret", "SELECT value FROM mljobs_meta WHERE key = 'server_secret'");

inline constexpr auto kPing = MakeSql("ping", "SELECT 1");

inline constexpr auto kCreateSchemaMigrations =
    MakeSql("create_schema_migrations",
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at INTEGER NOT NULL)");

inline constexpr auto kMigrationApplied =
    MakeSql("migration_applied", "SELECT 1 FROM schema_migrations WHERE version = :version");

inline constexpr auto kRecordMigration =
    MakeSql("record_migration",
            "INSERT INTO schema_migrations (version, name, applied_at) "
            "VALUES (:version, :name, :applied_at)");

// Names of the statements built per shape in sqlite_list_sql.cpp.
inline constexpr std::string_view kListJobs = "list_jobs";
inline constexpr std::string_view kCountJobs = "count_jobs";
inline constexpr std::string_view kEstimateJobs = "estimate_jobs";
inline constexpr std::string_view kExportJobsChunk = "export_jobs_chunk";

}  // namespace mljobs::store::sqlite

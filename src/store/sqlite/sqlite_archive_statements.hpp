// The fixed SQL of the SQLite archive store (ml_jobs_archive, migration 0004). Each
// statement is a named constant whose name is its statement name. Data only.
#pragma once

#include "store/sqlite/sqlite_statements.hpp"

namespace mljobs::store::sqlite {

#define MLJOBS_SQLITE_ARCHIVE_COLUMNS                                                        \
  "id, job_uuid, owner, model, input_text, status, priority, result_label, result_score, " \
  "error, metadata, attempts, max_attempts, run_after, lease_token, lease_expires_at, "    \
  "worker, created_at, started_at, completed_at, updated_at"

// The batch's rows, on ml_jobs_finished_completed_idx. Run twice in one write transaction
// (copy, then delete), where nothing else can write, so both see the same rows. INDEXED BY
// because the planner, with or without ANALYZE statistics, otherwise prefers one
// ml_jobs_status_created_idx range per status and sorts every finished job of the table to
// find the oldest: each batch then cost as much as the whole table (200,000 jobs took
// minutes). With it, a batch reads its own rows only.
#define MLJOBS_SQLITE_ARCHIVE_CANDIDATES                                                \
  "SELECT id FROM ml_jobs INDEXED BY ml_jobs_finished_completed_idx "                  \
  "WHERE status IN ('completed', 'failed', 'cancelled') "                              \
  "AND completed_at < :cutoff ORDER BY completed_at, id LIMIT :limit"

inline constexpr auto kArchiveCopy = MakeSql(
    "archive_copy",
    "INSERT INTO ml_jobs_archive (" MLJOBS_SQLITE_ARCHIVE_COLUMNS ", archived_at) "
    "SELECT " MLJOBS_SQLITE_ARCHIVE_COLUMNS ", :now FROM ml_jobs WHERE id IN ("
    MLJOBS_SQLITE_ARCHIVE_CANDIDATES ")");

inline constexpr auto kArchiveDelete = MakeSql(
    "archive_delete", "DELETE FROM ml_jobs WHERE id IN (" MLJOBS_SQLITE_ARCHIVE_CANDIDATES ")");

// Oldest first, on ml_jobs_archive_completed_idx (named for the same reason as above).
inline constexpr auto kPurgeBatch = MakeSql(
    "purge_batch",
    "DELETE FROM ml_jobs_archive WHERE id IN (SELECT id FROM ml_jobs_archive "
    "INDEXED BY ml_jobs_archive_completed_idx "
    "WHERE completed_at < :cutoff ORDER BY completed_at, id LIMIT :limit)");

}  // namespace mljobs::store::sqlite

// The fixed SQL of the SQLite work queue (SqliteQueueStore). Each statement is a named
// constant whose `name` is what RequestStats records; parameters are named and bound.
#pragma once

#include "store/sqlite/sqlite_statements.hpp"

namespace mljobs::store::sqlite {

// A random version-4 UUID in canonical text form, evaluated per row.
#define MLJOBS_SQLITE_RANDOM_UUID                                                       \
  "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "                 \
  "substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) " \
  "|| substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"

// One statement leases the batch; the single writer thread makes it atomic with respect to
// every other write. The sub-select walks ml_jobs_pending_claim_idx in claim order: INDEXED
// BY, because without statistics SQLite prefers ml_jobs_status_created_idx plus a sort of
// every pending row when most rows are pending.
// :models is a JSON array of model names, or NULL for any model.
inline constexpr auto kClaimJobs = MakeSql(
    "claim_jobs",
    "UPDATE ml_jobs SET status = 'running', attempts = attempts + 1, started_at = :now, "
    "updated_at = :now, lease_token = " MLJOBS_SQLITE_RANDOM_UUID
    ", lease_expires_at = :now + :lease, worker = :worker "
    "WHERE id IN (SELECT id FROM ml_jobs INDEXED BY ml_jobs_pending_claim_idx "
    "WHERE status = 'pending' AND run_after <= :now "
    "AND (:models IS NULL OR model IN (SELECT value FROM json_each(:models))) "
    "ORDER BY priority DESC, created_at, id LIMIT :limit) RETURNING ",
    kLightColumns, ", input_text, metadata");

// The token is compared in the WHERE, so the check and the change are one statement.
inline constexpr auto kHeartbeatJob =
    MakeSql("heartbeat_job",
            "UPDATE ml_jobs SET lease_expires_at = :now + :lease, updated_at = :now "
            "WHERE job_uuid = :uuid AND lease_token = :token AND status = 'running' RETURNING ",
            kLightColumns, ", input_text, metadata");

// Keeps lease_token, so a repeat with the same token can be recognised.
inline constexpr auto kCompleteJob =
    MakeSql("complete_job",
            "UPDATE ml_jobs SET status = 'completed', result_label = :label, "
            "result_score = :score, completed_at = :now, updated_at = :now, "
            "lease_expires_at = NULL "
            "WHERE job_uuid = :uuid AND lease_token = :token AND status = 'running' RETURNING ",
            kLightColumns, ", input_text, metadata");

// kCompleteJob's change without RETURNING, run once per job inside one transaction and
// recorded as one logical statement (as kInsertJobsBatch is).
inline constexpr auto kCompleteJobsBatch =
    MakeSql("complete_jobs",
            "UPDATE ml_jobs SET status = 'completed', result_label = :label, "
            "result_score = :score, completed_at = :now, updated_at = :now, "
            "lease_expires_at = NULL "
            "WHERE job_uuid = :uuid AND lease_token = :token AND status = 'running'");

// Why a lease call changed nothing (run per unchanged job of a batch, recorded once).
inline constexpr auto kLeaseLookup =
    MakeSql("lease_lookup", "SELECT ", kLightColumns,
            ", input_text, metadata FROM ml_jobs WHERE job_uuid = :uuid");
inline constexpr std::string_view kCompleteJobsLookup = "complete_jobs_lookup";

// Back to pending after min(base * 2^(attempts-1), cap) while attempts remain and the
// worker asked for a retry; otherwise failed for good. The lease is cleared either way.
inline constexpr auto kFailJob = MakeSql(
    "fail_job",
    "UPDATE ml_jobs SET "
    "status = CASE WHEN :retry = 1 AND attempts < max_attempts THEN 'pending' ELSE 'failed' END, "
    "run_after = CASE WHEN :retry = 1 AND attempts < max_attempts "
    "THEN :now + min(:base << min(max(attempts - 1, 0), 40), :cap) ELSE run_after END, "
    "completed_at = CASE WHEN :retry = 1 AND attempts < max_attempts THEN NULL ELSE :now END, "
    "error = :error, lease_token = NULL, lease_expires_at = NULL, updated_at = :now "
    "WHERE job_uuid = :uuid AND lease_token = :token AND status = 'running' RETURNING ",
    kLightColumns, ", input_text, metadata");

// Expired leases, oldest first, from ml_jobs_running_lease_idx (INDEXED BY, as for claims).
inline constexpr auto kReapExpiredLeases = MakeSql(
    "reap_expired_leases",
    "UPDATE ml_jobs SET "
    "status = CASE WHEN attempts < max_attempts THEN 'pending' ELSE 'failed' END, "
    "run_after = CASE WHEN attempts < max_attempts THEN :now ELSE run_after END, "
    "completed_at = CASE WHEN attempts < max_attempts THEN NULL ELSE :now END, "
    "error = 'lease expired', lease_token = NULL, lease_expires_at = NULL, updated_at = :now "
    "WHERE id IN (SELECT id FROM ml_jobs INDEXED BY ml_jobs_running_lease_idx "
    "WHERE status = 'running' AND lease_expires_at < :now "
    "ORDER BY lease_expires_at LIMIT :limit)");

#undef MLJOBS_SQLITE_RANDOM_UUID

}  // namespace mljobs::store::sqlite

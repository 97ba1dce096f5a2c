// The fixed SQL of the PostgreSQL work queue (PgQueueStore). Each statement is a named
// constant whose name is also its prepared-statement name. Data only.
#pragma once

#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {

// One statement leases the jobs of a group of claims (jobs::ClaimBatcher), all with the same
// models filter. `candidates` walks ml_jobs_queue_claim_idx (migration 0009) in claim
// order; FOR UPDATE SKIP LOCKED makes concurrent claims pass over each other's rows instead
// of queueing behind them. `picked` then locks the jobs themselves, re-checking that they
// are still pending, and SKIP LOCKED again: a job a cancel is changing right now is left
// to it, so a claim never waits while holding queue rows (a cancel locks the job first and
// its queue row second; waiting here could deadlock). `dealt` deals the picked jobs out in
// claim order: the first claim gets the first limit[1], the next the following limit[2],
// each with its own worker and lease; `slot` tells whose each job is (1-based). The queue
// rows of the claimed jobs go with them (ml_jobs_queue_sync). A job is never leased twice.
// ARRAY(...) and ANY(d.ids) keep each step an index scan whatever the row estimates.
// `dealt` is one row of two arrays, so the update looks each job up once by its id and
// finds its slot with array_position. A join with a CTE of the jobs instead was planned
// either as a probe of all the ids for every job (quadratic: 0.57 s for 1,000 jobs, 70 ms
// now) or, on a small table, as a hash join over a sequential scan that a generic plan
// would keep as the table grows.
// `async_commit` makes this statement's transaction commit without waiting for its WAL to
// reach disk (set_config(..., true) lasts to the end of the transaction, so no later
// statement on the connection inherits it). That wait was the one part of a claim that
// grouping cannot share. It is safe because all a lost claim loses is a lease: if
// PostgreSQL crashes within about 0.6 s (3 x wal_writer_delay) of a claim, the job is
// pending again and is leased anew, and the first worker's heartbeat or complete gets 409,
// as after an expired lease. A completion (a result) stays durable, and its flush covers
// every claim committed before it.
// $1 now, $2 models (NULL: any), $3 workers, $4 leases (µs), $5 limits, $6 sum of limits.
#define MLJOBS_PG_CLAIM_SLOT "d.slot_of[array_position(d.ids, ml_jobs.id)]"
inline constexpr PgStatement kClaimJobs{
    "claim_jobs",
    "WITH async_commit AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)), "
    "candidates AS ("
    "SELECT job_id FROM ml_jobs_queue WHERE run_after <= $1::timestamptz "
    "AND ($2::text[] IS NULL OR model = ANY($2::text[])) "
    "ORDER BY priority DESC, created_at, job_id LIMIT $6::int8 FOR UPDATE SKIP LOCKED), "
    "picked AS ("
    "SELECT id, row_number() OVER (ORDER BY priority DESC, created_at, id) AS n FROM ("
    "SELECT id, priority, created_at FROM ml_jobs "
    "WHERE id = ANY(ARRAY(SELECT job_id FROM candidates)) AND status = 'pending' "
    "FOR UPDATE SKIP LOCKED) AS p), "
    "slots AS ("
    "SELECT k, lim, (sum(lim) OVER (ORDER BY k))::int8 - lim AS skip "
    "FROM unnest($5::int8[]) WITH ORDINALITY AS r(lim, k)), "
    "dealt AS MATERIALIZED ("
    "SELECT array_agg(picked.id) AS ids, array_agg(slots.k) AS slot_of "
    "FROM picked JOIN slots ON picked.n > slots.skip AND picked.n <= slots.skip + slots.lim) "
    "UPDATE ml_jobs SET status = 'running', attempts = attempts + 1, "
    "started_at = $1::timestamptz, updated_at = $1::timestamptz, "
    "lease_token = gen_random_uuid(), "
    "lease_expires_at = $1::timestamptz + ($4::int8[])[" MLJOBS_PG_CLAIM_SLOT
    "] * interval '1 microsecond', "
    "worker = ($3::text[])[" MLJOBS_PG_CLAIM_SLOT
    "] "
    "FROM dealt AS d, async_commit "
    "WHERE ml_jobs.id = ANY(d.ids) AND ml_jobs.status = 'pending' "
    "RETURNING " MLJOBS_PG_CLAIM_SLOT " AS slot, " MLJOBS_PG_ALL_COLUMNS,
    true};
#undef MLJOBS_PG_CLAIM_SLOT

// Vacuums the queue table (see 0009): INDEX_CLEANUP ON, because VACUUM otherwise skips
// the indexes when few heap pages hold dead rows, and the dead index entries are the
// point; SKIP_LOCKED, so a second server's run or autovacuum is not waited for;
// PARALLEL 0, since starting workers costs more than scanning two small indexes.
inline constexpr PgStatement kTidyQueue{
    "tidy_queue", "VACUUM (INDEX_CLEANUP ON, SKIP_LOCKED, PARALLEL 0) ml_jobs_queue"};

// The token is compared in the WHERE, so the check and the change are one atomic step.
// $1 uuid, $2 token, $3 now, $4 lease (µs).
inline constexpr PgStatement kHeartbeatJob{
    "heartbeat_job",
    "UPDATE ml_jobs SET lease_expires_at = $3::timestamptz + $4::int8 * interval '1 microsecond', "
    "updated_at = $3::timestamptz "
    "WHERE job_uuid = $1::uuid AND lease_token = $2::uuid AND status = 'running' "
    "RETURNING " MLJOBS_PG_ALL_COLUMNS,
    true};

// Parallel arrays, one element per job (the service rejects repeated ids). Scores travel as
// text, which float8 input reads back exactly (shortest round-trip form). Keeps lease_token,
// so a repeat with the same token can be recognised and answered alike.
// The status to match ('running') is a parameter, not a literal, so that the generic plan
// looks each job up by its uuid. With the literal, a plan made while few jobs ran read
// every running job through ml_jobs_running_lease_idx and hashed them, on every completion,
// however many ran later (the plan lasts as long as the connection).
// $1 uuids, $2 tokens, $3 labels, $4 scores, $5 now, $6 'running'.
#define MLJOBS_PG_COMPLETE_JOBS                                                             \
  "UPDATE ml_jobs AS j SET status = 'completed', result_label = t.label, "                  \
  "result_score = t.score::float8, completed_at = $5::timestamptz, "                        \
  "updated_at = $5::timestamptz, lease_expires_at = NULL "                                  \
  "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(u, tok, label, score) " \
  "WHERE j.job_uuid = t.u::uuid AND j.lease_token = t.tok::uuid AND j.status = $6::text "

// POST /queue/complete: only which jobs changed.
inline constexpr PgStatement kCompleteJobs{
    "complete_jobs", MLJOBS_PG_COMPLETE_JOBS "RETURNING j.job_uuid::text", true};

// Single completions written together (jobs::CompletionBatcher): each caller gets its job.
inline constexpr PgStatement kCompleteJobsReturningJobs{
    "complete_jobs_returning_jobs", MLJOBS_PG_COMPLETE_JOBS "RETURNING " MLJOBS_PG_ALL_COLUMNS,
    true};

// Only for the jobs a completion did not change: why not (absent, cancelled, repeat).
inline constexpr PgStatement kCompleteJobsLookup{
    "complete_jobs_lookup",
    "SELECT " MLJOBS_PG_ALL_COLUMNS " FROM ml_jobs WHERE job_uuid = ANY($1::text[]::uuid[])", true};

// Back to pending after an exponential backoff, min(base * 2^(attempts-1), cap), while
// attempts remain and the worker asked for a retry; otherwise failed for good.
// $1 uuid, $2 token, $3 retry (0/1), $4 error, $5 now, $6 base (µs), $7 cap (µs).
inline constexpr PgStatement kFailJob{
    "fail_job",
    "UPDATE ml_jobs SET "
    "status = CASE WHEN $3::int4 = 1 AND attempts < max_attempts THEN 'pending' "
    "ELSE 'failed' END, "
    "run_after = CASE WHEN $3::int4 = 1 AND attempts < max_attempts THEN $5::timestamptz + "
    "LEAST($6::int8 * (1::int8 << LEAST(GREATEST(attempts - 1, 0), 40)), $7::int8) "
    "* interval '1 microsecond' ELSE run_after END, "
    "completed_at = CASE WHEN $3::int4 = 1 AND attempts < max_attempts THEN NULL "
    "ELSE $5::timestamptz END, "
    "error = $4::text, lease_token = NULL, lease_expires_at = NULL, updated_at = $5::timestamptz "
    "WHERE job_uuid = $1::uuid AND lease_token = $2::uuid AND status = 'running' "
    "RETURNING " MLJOBS_PG_ALL_COLUMNS,
    true};

// Why a single-job lease call changed nothing.
inline constexpr PgStatement kLeaseLookup{
    "lease_lookup", "SELECT " MLJOBS_PG_ALL_COLUMNS " FROM ml_jobs WHERE job_uuid = $1::uuid",
    true};

// Expired leases, oldest first, from ml_jobs_running_lease_idx. SKIP LOCKED: a job whose
// holder is completing it right now is left to that completion.
// $1 now, $2 limit.
inline constexpr PgStatement kReapExpiredLeases{
    "reap_expired_leases",
    "UPDATE ml_jobs SET "
    "status = CASE WHEN attempts < max_attempts THEN 'pending' ELSE 'failed' END, "
    "run_after = CASE WHEN attempts < max_attempts THEN $1::timestamptz ELSE run_after END, "
    "completed_at = CASE WHEN attempts < max_attempts THEN NULL ELSE $1::timestamptz END, "
    "error = 'lease expired', lease_token = NULL, lease_expires_at = NULL, "
    "updated_at = $1::timestamptz "
    "WHERE id = ANY(ARRAY("
    "SELECT id FROM ml_jobs WHERE status = 'running' AND lease_expires_at < $1::timestamptz "
    "ORDER BY lease_expires_at LIMIT $2::int8 FOR UPDATE SKIP LOCKED))",
    true};

// How many jobs ml_jobs_queue holds, as its last vacuum counted them (no table scan).
inline constexpr PgStatement kQueueSize{
    "queue_size",
    "SELECT greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = 'ml_jobs_queue'::regclass",
    true};

// The channel migration 0002's trigger notifies after every INSERT into ml_jobs.
inline constexpr std::string_view kNewJobsChannel = "mljobs_new_jobs";

}  // namespace mljobs::store::postgres

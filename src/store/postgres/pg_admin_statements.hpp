// The fixed SQL of PgAdminStore: catalogue reads for /admin/db-health and the position a
// deep page is explained from. Each constant's name is its statement name.
#pragma once

#include <cstdint>

#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {

// Tables of the current schema: sizes, the planner's row estimate (reltuples is -1 before
// the first ANALYZE) and the vacuum statistics.
inline constexpr PgStatement kHealthTables{
    "health_tables",
    "SELECT c.relname::text, pg_table_size(c.oid), pg_indexes_size(c.oid), "
    "pg_total_relation_size(c.oid), "
    "CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::int8 END, "
    "s.n_dead_tup, s.last_autovacuum, s.last_autoanalyze "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname"};

// Indexes with their usage since statistics were last reset; unique ones back constraints,
// so they are never "unused".
inline constexpr PgStatement kHealthIndexes{
    "health_indexes",
    "SELECT s.indexrelname::text, s.relname::text, pg_relation_size(s.indexrelid), "
    "s.idx_scan, s.idx_tup_read, (i.indisunique OR i.indisprimary)::int4 "
    "FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid "
    "WHERE s.schemaname = current_schema() ORDER BY s.relname, s.indexrelname"};

// Share of table and index block reads served from shared buffers.
inline constexpr PgStatement kHealthCache{
    "health_cache",
    "SELECT (sum(heap_blks_hit) + sum(coalesce(idx_blks_hit, 0)))::float8 / "
    "nullif(sum(heap_blks_hit) + sum(heap_blks_read) + sum(coalesce(idx_blks_hit, 0)) + "
    "sum(coalesce(idx_blks_read, 0)), 0)::float8 "
    "FROM pg_statio_user_tables WHERE schemaname = current_schema()"};

// A row half way through the id range (two primary-key lookups and one range read), the
// position a deep page continues after.
inline constexpr PgStatement kExplainDeepPosition{
    "explain_deep_position",
    "SELECT created_at, id FROM ml_jobs "
    "WHERE id >= (SELECT (min(id) + max(id)) / 2 FROM ml_jobs) ORDER BY id LIMIT 1"};

// The transaction an explained claim runs in; always rolled back.
inline constexpr PgStatement kExplainBegin{"explain_begin", "BEGIN"};
inline constexpr PgStatement kExplainRollback{"explain_rollback", "ROLLBACK"};
// Inside kExplainBegin's transaction: plans as the server's generic_plan statements get.
inline constexpr PgStatement kExplainGenericPlans{
    "explain_generic_plans", "SET LOCAL plan_cache_mode = force_generic_plan"};

// Representative claim parameters: a 30 s lease, 10 jobs.
inline constexpr std::int64_t kExplainLeaseMicros = 30'000'000;
inline constexpr std::int64_t kExplainClaimLimit = 10;

}  // namespace mljobs::store::postgres

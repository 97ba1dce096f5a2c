// The fixed SQL of SqliteAdminStore: page counts and statistics for /admin/db-health and
// the position a deep page is explained from. Each constant's name is its statement name.
#pragma once

#include <cstdint>

#include "store/sqlite/sqlite_statements.hpp"

namespace mljobs::store::sqlite {

// Tables and indexes with their table and whether they are unique (a UNIQUE constraint's
// automatic index is). SQLite's own tables are left out.
inline constexpr auto kHealthSchema =
    MakeSql("health_schema",
            "SELECT type, name, tbl_name, "
            "(name LIKE 'sqlite_autoindex_%' OR sql LIKE 'CREATE UNIQUE%') "
            "FROM sqlite_schema WHERE type IN ('table', 'index') "
            "AND tbl_name NOT LIKE 'sqlite_%' ORDER BY tbl_name, type DESC, name");

// Bytes of every b-tree. dbstat visits every page of the file.
inline constexpr auto kHealthPages =
    MakeSql("health_pages", "SELECT name, sum(pgsize) FROM dbstat GROUP BY name");

inline constexpr auto kHealthHasStat1 =
    MakeSql("health_has_stat1", "SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'");

// ANALYZE's row count per table: the first number of each index's stat line.
inline constexpr auto kHealthRowEstimates =
    MakeSql("health_row_estimates",
            "SELECT tbl, max(CAST(stat AS INTEGER)) FROM sqlite_stat1 GROUP BY tbl");

inline constexpr auto kHealthFile =
    MakeSql("health_file",
            "SELECT p.page_size, c.page_count, f.freelist_count "
            "FROM pragma_page_size() p, pragma_page_count() c, pragma_freelist_count() f");

// A row half way through the id range (two primary-key lookups and one range read), the
// position a deep page continues after.
inline constexpr auto kExplainDeepPosition =
    MakeSql("explain_deep_position",
            "SELECT created_at, id FROM ml_jobs "
            "WHERE id >= (SELECT (min(id) + max(id)) / 2 FROM ml_jobs) ORDER BY id LIMIT 1");

// Representative claim parameters: a 30 s lease, 10 jobs.
inline constexpr std::int64_t kExplainLeaseMicros = 30'000'000;
inline constexpr std::int64_t kExplainClaimLimit = 10;

}  // namespace mljobs::store::sqlite

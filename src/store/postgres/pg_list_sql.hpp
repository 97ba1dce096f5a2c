// Builds the SQL and bound parameters of list, count and export queries for the shape of
// a filter, so the store, its tests and /admin/explain see exactly the same statement.
// Pure functions; any thread.
#pragma once

#include <string>

#include "jobs/job_query.hpp"
#include "store/postgres/pg_params.hpp"

namespace mljobs::store::postgres {

// `name` is stable for a shape (which filters are set, how many statuses, order, heavy
// columns, whether a position is given) and is the prepared-statement name; values
// only ever travel in `params`.
struct PgQuery {
  std::string name;
  std::string sql;
  PgParams params;
};

// One keyset page: at most query.limit + 1 rows (the extra one tells has_more). Several
// statuses become a UNION ALL of one ordered, limited branch per status, which the
// planner merges (Merge Append) from ml_jobs_status_created_idx without a sort. With
// filter.include_archived every branch is repeated over ml_jobs_archive (whose partitions
// carry the same indexes, migration 0006) and rows carry an `archived` column (0 or 1).
PgQuery BuildListQuery(const jobs::ListQuery& query);

// Every matching row in order, for a cursor (no position, no limit).
PgQuery BuildExportQuery(const jobs::JobFilter& filter, jobs::SortOrder order,
                         jobs::FieldSet fields);

// COUNT(*) of the filter, or (estimated) `EXPLAIN (FORMAT JSON)` of the same scan whose
// top "Plan Rows" is the planner's estimate; with include_archived, of both tables summed.
PgQuery BuildCountQuery(const jobs::JobFilter& filter, bool estimated);

}  // namespace mljobs::store::postgres

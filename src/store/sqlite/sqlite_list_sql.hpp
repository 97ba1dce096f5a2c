// Builds and binds the SQL of a list (or export chunk), a count and an estimate for one
// query shape. The text depends only on the shape (filters present, order, keyset position,
// heavy columns), never on values, so a connection caches one statement per shape. Any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "jobs/job_query.hpp"
#include "store/sqlite/sqlite_connection.hpp"
#include "store/sqlite/sqlite_job_row.hpp"

namespace mljobs::store::sqlite {

// Rows matching `filter` strictly after the position bound by BindList (when `has_after`),
// ordered by (created_at, id) in `order`, at most the bound limit of them. Each shape reads
// one index range in order: no sort over the table. Several statuses become a UNION ALL of
// one ordered, limited range per status (ml_jobs_status_created_idx), merged by an outer
// ORDER BY/LIMIT that sorts at most statuses * limit rows. With filter.include_archived
// every range is repeated over ml_jobs_archive (same indexes, migration 0006) and an
// `archived` column (0 or 1) follows the heavy ones. Throws Error(kInvalidArgument) for
// more statuses than exist.
std::string ListSql(const jobs::JobFilter& filter, jobs::SortOrder order, bool has_after,
                    HeavyColumns heavy);

// Binds the values of a ListSql statement of the same shape.
void BindList(Statement& statement, const jobs::JobFilter& filter,
              const std::optional<jobs::Position>& after, std::int64_t limit);

// COUNT(*) of the rows matching `filter`, through the index of its most selective column
// (of both tables, summed, with include_archived).
std::string CountSql(const jobs::JobFilter& filter);

// Binds the values of a CountSql statement of the same shape.
void BindCount(Statement& statement, const jobs::JobFilter& filter);

// How many rows the estimate looks at, at most: its relative error for a filter matching a
// fraction p of the rows is about sqrt((1 - p) / (p * kEstimateSamples)).
inline constexpr int kEstimateSamples = 2000;

// The estimated count of the rows matching `filter`, from a random sample of rows read by
// primary key, never a scan; one row: (span, samples, matches), the estimate being
// matches * span / samples (0 when samples is 0). The sample is drawn from the id span
// min(id)..max(id) or, with a created_at range, from the ids of the range's oldest and
// newest rows (ids grow as jobs are inserted at their created_at; a narrow range is thus
// a small span). A span of at most kEstimateSamples is read whole, so the count is exact.
// Archived ids are gaps that simply do not match, unless include_archived: then the span
// covers both tables' ids and a pick matches in either.
std::string EstimateSql(const jobs::JobFilter& filter);

// Binds the values of an EstimateSql statement of the same shape.
void BindEstimate(Statement& statement, const jobs::JobFilter& filter);

}  // namespace mljobs::store::sqlite

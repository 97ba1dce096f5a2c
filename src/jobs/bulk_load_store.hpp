// Bulk loading of complete job rows (every column given) for `mljobs seed`: COPY on
// PostgreSQL, one prepared insert in one big transaction on SQLite. Called from a
// command-line tool's own io_context only, never from a server's io threads: the
// PostgreSQL implementation blocks its thread on a dedicated libpq connection.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "jobs/job.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::jobs {

namespace asio = boost::asio;

// Told the name of each phase after the rows ("building index ml_jobs_created_idx",
// "analyzing"), for progress on a terminal.
using BulkLoadPhaseFn = std::function<void(std::string_view phase)>;

class BulkLoadStore {
 public:
  virtual ~BulkLoadStore() = default;

  // Largest span Append takes, so that one call's memory stays bounded.
  static constexpr std::size_t kMaxAppendRows = 100'000;

  // Starts one load, which is one transaction: nothing is visible to other connections
  // before Finish, and a load never finished (an error, a killed process) leaves the
  // table as it was. Takes the table's write lock for the whole load. Rows go in with the
  // job counters' triggers off (one trigger call per row would dominate the load); the
  // loader tallies them itself (CounterTally) and Finish adds the tally to the counters in
  // the same transaction, so GET /jobs/stats is exact at the commit. When ml_jobs is
  // empty, its secondary indexes are dropped and Finish builds them again after the rows
  // (one sort per index instead of millions of index inserts). Returns whether the table
  // was empty. Throws Error(kUnavailable) when the database cannot be reached, and
  // Error(kConflict) when a load is already in progress on this store.
  virtual asio::awaitable<bool> Begin(obs::RequestStats& stats) = 0;

  // Appends rows in the given order; the database assigns ids (so ids follow that order).
  // Every column but `id` is written as given. At most kMaxAppendRows per call. Throws
  // Error(kInvalidArgument) for a row the schema rejects (the whole load then fails).
  virtual asio::awaitable<void> Append(obs::RequestStats& stats, std::span<const Job> rows) = 0;

  // Builds the indexes Begin dropped, adds the rows' counters, refreshes planner
  // statistics and commits. Returns
  // the number of rows appended.
  virtual asio::awaitable<std::int64_t> Finish(obs::RequestStats& stats,
                                               const BulkLoadPhaseFn& on_phase) = 0;
};

}  // namespace mljobs::jobs

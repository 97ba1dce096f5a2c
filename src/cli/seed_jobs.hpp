// Fills a database with generated jobs (SeedGenerator) through its BulkLoadStore, in one
// transaction, telling progress as it goes. Runs on a command's own io_context (the
// PostgreSQL loader blocks its thread), never on a server's io threads.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <string_view>

#include "cli/seed_generator.hpp"
#include "store/backend.hpp"

namespace mljobs::cli {

struct SeedProgress {
  // Rows handed to the database so far (after each chunk).
  std::function<void(std::int64_t rows)> on_rows;
  // Each phase after the rows: index builds, counting, analyze, commit.
  std::function<void(std::string_view phase)> on_phase;
};

struct SeedResult {
  std::int64_t rows = 0;
  bool table_was_empty = false;  // secondary indexes were dropped and rebuilt
};

// Rows per Append: bounds the generator's buffer (a few MB) and paces progress reports.
inline constexpr std::size_t kSeedChunkRows = 10'000;

// Upper bound on --rows: 100M rows is ~30 GB on either backend.
inline constexpr std::int64_t kMaxSeedRows = 100'000'000;

// Throws Error(kInvalidArgument) for rows outside 1..kMaxSeedRows; otherwise the
// loader's errors (kUnavailable when the database is down).
boost::asio::awaitable<SeedResult> SeedJobs(store::Backend& backend, const SeedOptions& options,
                                            const SeedProgress& progress);

}  // namespace mljobs::cli

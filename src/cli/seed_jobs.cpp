#include "cli/seed_jobs.hpp"

#include <vector>

#include "common/error.hpp"

namespace mljobs::cli {

boost::asio::awaitable<SeedResult> SeedJobs(store::Backend& backend, const SeedOptions& options,
                                            const SeedProgress& progress) {
  if (options.rows < 1 || options.rows > kMaxSeedRows) {
    throw Error(ErrorCode::kInvalidArgument,
                "--rows must be 1.." + std::to_string(kMaxSeedRows) + " (got " +
                    std::to_string(options.rows) + ")");
  }
  obs::RequestStats stats;
  jobs::BulkLoadStore& loader = backend.bulk_load();
  SeedResult result;
  result.table_was_empty = co_await loader.Begin(stats);

  SeedGenerator generator(options);
  std::vector<jobs::Job> chunk(kSeedChunkRows);
  while (std::size_t n = generator.Next(chunk)) {
    co_await loader.Append(stats, std::span<const jobs::Job>(chunk.data(), n));
    if (progress.on_rows) progress.on_rows(generator.produced());
  }
  // The loader counted the rows into the statistics counters in the same transaction.
  result.rows = co_await loader.Finish(stats, progress.on_phase);
  co_return result;
}

}  // namespace mljobs::cli

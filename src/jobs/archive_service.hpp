// Archival and retention: moves finished jobs older than N days into ml_jobs_archive in
// adaptive batches (each one atomic, see ArchiveStore) and purges the archive beyond its
// retention. Coroutines on the caller's executor; one run of each kind at a time per
// database (see RunLock).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>

#include "jobs/archive_store.hpp"

namespace mljobs::jobs {

// Bounds of the parameters (documented in docs/API.md).
inline constexpr int kMinDaysOld = 1;
inline constexpr int kMaxDaysOld = 36'500;
inline constexpr int kMaxArchiveBatch = 10'000;
inline constexpr int kDefaultArchiveBatch = 10'000;
inline constexpr int kDefaultPurgeDaysOld = 365;
// A batch slower than this halves the next one (down to a tenth of the asked size), so a
// busy database is not starved; a batch under a fifth of it lets the size grow back.
inline constexpr std::chrono::milliseconds kArchiveBatchTarget{250};

struct ArchiveProgress {
  std::int64_t rows = 0;  // moved (or purged) so far
  int batches = 0;
  int batch_size = 0;  // of the next batch
  std::chrono::steady_clock::duration elapsed{};
};
using ArchiveProgressFn = std::function<void(const ArchiveProgress&)>;

struct ArchiveResult {
  std::int64_t archived = 0;
  int batches = 0;
  std::int64_t elapsed_ms = 0;
  Micros cutoff = 0;
};

struct PurgeResult {
  std::int64_t purged = 0;
  std::vector<std::string> partitions_dropped;
  int batches = 0;
  std::int64_t elapsed_ms = 0;
  Micros cutoff = 0;
};

// The next batch size after a batch of `size` rows took `took` (see kArchiveBatchTarget).
int NextBatchSize(int size, int asked, std::chrono::steady_clock::duration took);

class ArchiveService {
 public:
  explicit ArchiveService(ArchiveStore& store) : store_(store) {}

  // Moves every completed, failed or cancelled job that finished before now - days_old
  // days. days_old in [kMinDaysOld, kMaxDaysOld], batch_size in [1, kMaxArchiveBatch]
  // (else Error(kInvalidArgument) naming the parameter, with nothing moved).
  // `progress` (optional) is called after each batch.
  asio::awaitable<ArchiveResult> Archive(obs::RequestStats& stats, int days_old, int batch_size,
                                         Micros now, const ArchiveProgressFn& progress = {});

  // Removes archived jobs that finished before now - days_old days. Same bounds.
  asio::awaitable<PurgeResult> Purge(obs::RequestStats& stats, int days_old, int batch_size,
                                     Micros now);

  // Both throw Error(kConflict, ..., "archive_running" / "purge_running") while another run
  // of the same kind holds its lock (in this process or another one on the database).

 private:
  asio::awaitable<ArchiveResult> RunArchive(obs::RequestStats& stats, int days_old,
                                            int batch_size, Micros now,
                                            const ArchiveProgressFn& progress);
  asio::awaitable<PurgeResult> RunPurge(obs::RequestStats& stats, int days_old, int batch_size,
                                        Micros now);

  ArchiveStore& store_;
};

}  // namespace mljobs::jobs

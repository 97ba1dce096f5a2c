#include "jobs/archive_service.hpp"

#include <algorithm>
#include <exception>

#include "common/error.hpp"

namespace mljobs::jobs {
namespace {

constexpr Micros kMicrosPerDay = 86'400'000'000;

void CheckBounds(int days_old, int batch_size) {
  if (days_old < kMinDaysOld || days_old > kMaxDaysOld) {
    throw Error(ErrorCode::kInvalidArgument, "days_old: must be an integer from " +
                                                 std::to_string(kMinDaysOld) + " to " +
                                                 std::to_string(kMaxDaysOld));
  }
  if (batch_size < 1 || batch_size > kMaxArchiveBatch) {
    throw Error(ErrorCode::kInvalidArgument,
                "batch_size: must be an integer from 1 to " + std::to_string(kMaxArchiveBatch));
  }
}

// Runs `body` holding the run lock of `run`: a second run while one is going is refused
// (409 archive_running / purge_running) rather than queued, because the caller of an
// admin endpoint or a cron job learns at once that the work is already being done, and
// no HTTP request sits blocked for the length of someone else's run.
template <typename Result, typename Body>
asio::awaitable<Result> Exclusive(ArchiveStore& store, obs::RequestStats& stats, ArchiveRun run,
                                  Body body) {
  std::unique_ptr<RunLock> lock = co_await store.TryLockRun(stats, run);
  if (!lock) {
    const bool archive = run == ArchiveRun::kArchive;
    throw Error(ErrorCode::kConflict,
                archive ? "an archive run is already in progress; try again when it ends"
                        : "a purge run is already in progress; try again when it ends",
                archive ? "archive_running" : "purge_running");
  }
  std::exception_ptr failure;
  Result result;
  try {
    result = co_await body();
  } catch (...) {
    failure = std::current_exception();
  }
  co_await lock->Release();  // outside the catch: no co_await is allowed there
  if (failure) std::rethrow_exception(failure);
  co_return result;
}

std::int64_t Millis(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

int NextBatchSize(int size, int asked, std::chrono::steady_clock::duration took) {
  const int smallest = std::max(1, asked / 10);
  if (took > kArchiveBatchTarget) return std::max(smallest, size / 2);
  if (took < kArchiveBatchTarget / 5) return std::min(asked, size * 2);
  return size;
}

asio::awaitable<ArchiveResult> ArchiveService::Archive(obs::RequestStats& stats, int days_old,
                                                       int batch_size, Micros now,
                                                       const ArchiveProgressFn& progress) {
  CheckBounds(days_old, batch_size);
  auto run = [&] { return RunArchive(stats, days_old, batch_size, now, progress); };
  co_return co_await Exclusive<ArchiveResult>(store_, stats, ArchiveRun::kArchive, run);
}

asio::awaitable<ArchiveResult> ArchiveService::RunArchive(obs::RequestStats& stats, int days_old,
                                                          int batch_size, Micros now,
                                                          const ArchiveProgressFn& progress) {
  ArchiveResult result;
  result.cutoff = now - static_cast<Micros>(days_old) * kMicrosPerDay;
  const auto start = std::chrono::steady_clock::now();
  int size = batch_size;
  // Ends: the cutoff is in the past, so the rows it selects are finite and each batch
  // removes the ones it moves; a short batch means none are left.
  while (true) {
    const auto batch_start = std::chrono::steady_clock::now();
    std::int64_t moved = co_await store_.ArchiveBatch(stats, result.cutoff, size, now);
    const auto batch_end = std::chrono::steady_clock::now();
    ++result.batches;
    result.archived += moved;
    const bool done = moved < size;
    size = NextBatchSize(size, batch_size, batch_end - batch_start);
    if (progress) progress(ArchiveProgress{result.archived, result.batches, size, batch_end - start});
    if (done) break;
  }
  result.elapsed_ms = Millis(std::chrono::steady_clock::now() - start);
  co_return result;
}

asio::awaitable<PurgeResult> ArchiveService::Purge(obs::RequestStats& stats, int days_old,
                                                   int batch_size, Micros now) {
  CheckBounds(days_old, batch_size);
  auto run = [&] { return RunPurge(stats, days_old, batch_size, now); };
  co_return co_await Exclusive<PurgeResult>(store_, stats, ArchiveRun::kPurge, run);
}

asio::awaitable<PurgeResult> ArchiveService::RunPurge(obs::RequestStats& stats, int days_old,
                                                      int batch_size, Micros now) {
  PurgeResult result;
  result.cutoff = now - static_cast<Micros>(days_old) * kMicrosPerDay;
  const auto start = std::chrono::steady_clock::now();
  int size = batch_size;
  while (true) {
    const auto batch_start = std::chrono::steady_clock::now();
    PurgeStep step = co_await store_.PurgeBatch(stats, result.cutoff, size);
    ++result.batches;
    result.purged += step.purged;
    for (auto& name : step.dropped) result.partitions_dropped.push_back(std::move(name));
    if (!step.more) break;
    size = NextBatchSize(size, batch_size, std::chrono::steady_clock::now() - batch_start);
  }
  result.elapsed_ms = Millis(std::chrono::steady_clock::now() - start);
  co_return result;
}

}  // namespace mljobs::jobs

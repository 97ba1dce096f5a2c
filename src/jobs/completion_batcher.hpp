// Group commit for single completions (POST /jobs/{id}/complete): calls that arrive while
// another write of completions is under way wait and are then written together, in one
// QueueStore::CompleteBatch statement; each caller still gets its own job and outcome.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "jobs/queue_store.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::jobs {

// Completions waiting to be written at once; past it, callers get 503 (retry later).
inline constexpr std::size_t kMaxQueuedCompletions = 20'000;

// What /metrics shows of the batcher.
struct CompletionBatcherStats {
  std::size_t waiting = 0;    // completions queued for the next write
  std::size_t writing = 0;    // completions in the write under way
  std::uint64_t writes = 0;   // writes finished (each one statement, plus a lookup if needed)
  std::uint64_t written = 0;  // completions those writes carried
};

class CompletionBatcher {
 public:
  // At most `max_queued` completions wait for a write; more are refused with
  // Error(kUnavailable, ..., "too_many_completions").
  explicit CompletionBatcher(QueueStore& store,
                             std::size_t max_queued = kMaxQueuedCompletions)
      : store_(store), max_queued_(max_queued) {}
  CompletionBatcher(const CompletionBatcher&) = delete;
  CompletionBatcher& operator=(const CompletionBatcher&) = delete;

  // Writes `completion` (uuid and token already checked) with whatever else is waiting.
  // An idle batcher starts the write at once, so a lone caller waits for no one; under
  // load a call waits for at most the write in progress, then shares the next one. The
  // shared statements count in `stats`. Thread-safe: callers on any executor.
  asio::awaitable<LeaseResult> Complete(obs::RequestStats& stats, Completion completion);

  CompletionBatcherStats Stats() const;

 private:
  struct Waiter;

  // Writes queued completions, batch after batch, until none is left.
  asio::awaitable<void> Flush();
  // Up to kMaxCompleteBatch queued waiters with distinct job ids (a repeat of an id waits
  // for the next batch, where it is answered as the repeat it is). Caller holds mu_.
  std::vector<std::shared_ptr<Waiter>> TakeBatch();

  QueueStore& store_;
  const std::size_t max_queued_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Waiter>> queued_;  // guarded by mu_, in arrival order
  bool flushing_ = false;                        // guarded by mu_: a Flush is running
  CompletionBatcherStats stats_;                 // guarded by mu_ (waiting: queued_.size())
};

}  // namespace mljobs::jobs

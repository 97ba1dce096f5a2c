// The work queue's rules between the API and the QueueStore: checks what workers send,
// computes leases and retry backoff, long-polls a claim on the store's new-jobs notifier,
// turns lease outcomes into errors, and runs the reaper of expired leases inside `serve`.
// Coroutines on the caller's executor; Stop from any thread.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "jobs/claim_batcher.hpp"
#include "jobs/completion_batcher.hpp"
#include "jobs/queue_store.hpp"
#include "jobs/work_notifier.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::jobs {

// Bounds of the queue API (documented in docs/API.md).
inline constexpr int kMaxClaimLimit = 1000;
inline constexpr int kDefaultLeaseSeconds = 60;
inline constexpr int kMaxLeaseSeconds = 3600;
inline constexpr int kMaxWaitSeconds = 60;
inline constexpr std::size_t kMaxClaimModels = 100;
inline constexpr std::size_t kMaxCompleteBatch = 1000;
inline constexpr std::size_t kMaxWorkerBytes = 128;
inline constexpr std::size_t kMaxLabelBytes = 256;
inline constexpr std::size_t kMaxErrorBytes = 4096;
// Retry k waits min(kBackoffBase * 2^(k-1), kBackoffCap): 1 s, 2 s, 4 s, ... 1 h. No
// jitter: deterministic for tests and operators; claims are spread by SKIP LOCKED anyway.
inline constexpr Micros kBackoffBase = 1'000'000;
inline constexpr Micros kBackoffCap = 3'600'000'000;
// The reaper returns at most this many expired leases per tick.
inline constexpr int kReapBatch = 1000;

struct ClaimParams {
  std::string worker;
  int limit = 1;
  int lease_seconds = kDefaultLeaseSeconds;
  std::vector<std::string> models;
  int wait_seconds = 0;
};

struct CompleteParams {
  std::string id;
  std::string lease_token;
  std::string label;
  double score = 0;
};

struct FailParams {
  std::string lease_token;
  std::string error;
  bool retry = true;
};

class QueueService {
 public:
  explicit QueueService(QueueStore& store) : store_(store), claims_(store), completions_(store) {}

  // Error(kInvalidArgument) naming the field for bad input; with wait_seconds > 0 and no
  // runnable job, waits until jobs are inserted (then claims again) or the wait ends
  // (then returns none). Error(kUnavailable, ..., "too_many_waiters") past the bound.
  // Claims from concurrent callers are written together (ClaimBatcher).
  asio::awaitable<std::vector<Job>> Claim(obs::RequestStats& stats, ClaimParams params);

  // The lease holder's calls. Error(kNotFound) for an unknown id; Error(kConflict) with
  // reason "lease_lost" when the token no longer holds the job (expired, re-leased,
  // finished) or "cancelled" when the job was cancelled. Complete repeated with the same
  // token returns the completed job again. Completions from concurrent callers are
  // written together (CompletionBatcher).
  asio::awaitable<Job> Heartbeat(obs::RequestStats& stats, std::string_view id,
                                 std::string lease_token, int lease_seconds);
  asio::awaitable<Job> Complete(obs::RequestStats& stats, CompleteParams params);
  asio::awaitable<Job> Fail(obs::RequestStats& stats, std::string_view id, FailParams params);

  // Up to kMaxCompleteBatch completions (no id twice), one outcome each in input order.
  // Error messages of bad entries name them ("results[3].lease_token: ..."). Written
  // together with concurrent callers' completions (CompletionBatcher).
  asio::awaitable<std::vector<LeaseOutcome>> CompleteBatch(obs::RequestStats& stats,
                                                           std::vector<CompleteParams> batch);

  // Every `interval` until Stop: returns expired leases, then runs the store's Tidy.
  // Errors (an outage) are reported on stderr and retried at the next tick. Spawn once,
  // on the server's executor.
  asio::awaitable<void> RunReaper(std::chrono::milliseconds interval);

  // For /metrics: claims and completions waiting, being written, and written so far.
  GroupCommitStats Claims() const { return claims_.Stats(); }
  GroupCommitStats Completions() const { return completions_.Stats(); }
  // Claims long-polling for work right now.
  std::size_t WaitingClaims() const { return long_polled_ ? store_.NewJobs().Waiters() : 0; }

  // Ends the reaper and every long poll (which answer with no jobs).
  void Stop();

  // Checks shared by the API's per-entry validation.
  static std::string CheckLeaseToken(std::string_view token, const std::string& where);

 private:
  QueueStore& store_;
  ClaimBatcher claims_;
  CompletionBatcher completions_;
  WorkNotifier stop_{1};  // the reaper's sleep, cut short by Stop
  std::atomic<bool> long_polled_{false};
};

}  // namespace mljobs::jobs

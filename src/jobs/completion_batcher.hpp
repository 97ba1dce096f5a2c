// Group commit for completions: POST /jobs/{id}/complete calls and POST /queue/complete
// batches that arrive while another write of completions is under way wait and are then
// written together, in one QueueStore::CompleteBatch statement; each caller still gets
// its own outcomes.
#pragma once

#include <cstddef>
#include <vector>

#include "jobs/group_commit.hpp"
#include "jobs/queue_store.hpp"

namespace mljobs::jobs {

// Completions waiting to be written at once; past it, callers get 503 (retry later).
inline constexpr std::size_t kMaxQueuedCompletions = 20'000;

// One caller's completions (ids distinct, checked) and whether it needs the jobs back.
struct CompletionGroup {
  std::vector<Completion> completions;
  bool with_jobs = false;
};

class CompletionBatcher {
 public:
  // At most `max_queued` completions wait for a write; more
  // are refused with Error(kUnavailable, ..., "too_many_completions").
  explicit CompletionBatcher(QueueStore& store, std::size_t max_queued = kMaxQueuedCompletions);

  // Writes one completion (uuid and token already checked) with whatever else is waiting,
  // and answers with the job as it is after the call.
  asio::awaitable<LeaseResult> Complete(obs::RequestStats& stats, Completion completion);

  // Writes up to kMaxCompleteBatch completions with distinct ids, likewise; one outcome
  // per completion, in order (the results carry no jobs).
  asio::awaitable<std::vector<LeaseResult>> CompleteMany(obs::RequestStats& stats,
                                                         std::vector<Completion> completions);

  GroupCommitStats Stats() const { return group_.Stats(); }

 private:
  GroupCommit<CompletionGroup, std::vector<LeaseResult>> group_;
};

}  // namespace mljobs::jobs

// Group commit for claims (POST /queue/claim): claims that arrive while another claim is
// being written wait and are then leased together, in one QueueStore::ClaimBatch
// statement; each caller still gets its own jobs, worker and lease.
#pragma once

#include <cstddef>
#include <vector>

#include "jobs/group_commit.hpp"
#include "jobs/queue_store.hpp"

namespace mljobs::jobs {

// Claims waiting to be written at once; past it, callers get 503 (retry later).
inline constexpr std::size_t kMaxQueuedClaims = 10'000;

class ClaimBatcher {
 public:
  // At most `max_queued` claims wait for a write; more are refused with
  // Error(kUnavailable, ..., "too_many_claims").
  explicit ClaimBatcher(QueueStore& store, std::size_t max_queued = kMaxQueuedClaims);

  // Leases up to request.limit jobs (the request already checked) with whatever other
  // claims are waiting for the same models; as QueueStore::Claim, as of the write's time.
  asio::awaitable<std::vector<Job>> Claim(obs::RequestStats& stats, ClaimRequest request);

  GroupCommitStats Stats() const { return group_.Stats(); }

 private:
  GroupCommit<ClaimRequest, std::vector<Job>> group_;
};

}  // namespace mljobs::jobs

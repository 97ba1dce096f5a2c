#include "jobs/queue_store.hpp"

namespace mljobs::jobs {

LeaseOutcome ExplainUnchanged(const std::optional<Job>& job, std::string_view lease_token,
                              bool completing) {
  if (!job) return LeaseOutcome::kNotFound;
  if (job->status == JobStatus::kCancelled) return LeaseOutcome::kCancelled;
  // Completion keeps the token on the row for exactly this check.
  if (completing && job->status == JobStatus::kCompleted && job->lease_token &&
      *job->lease_token == lease_token) {
    return LeaseOutcome::kRepeated;
  }
  return LeaseOutcome::kLeaseLost;
}

asio::awaitable<std::vector<Job>> QueueStore::Claim(obs::RequestStats& stats,
                                                    const ClaimRequest& request, Micros now) {
  std::vector<std::vector<Job>> claimed =
      co_await ClaimBatch(stats, std::span<const ClaimRequest>(&request, 1), now);
  co_return std::move(claimed.at(0));
}

}  // namespace mljobs::jobs

#include "jobs/queue_store.hpp"

#include <algorithm>

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

void SortInClaimOrder(std::vector<Job>& jobs) {
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.created_at != b.created_at) return a.created_at < b.created_at;
    return a.id < b.id;
  });
}

}  // namespace mljobs::jobs

#include "jobs/claim_batcher.hpp"

#include <algorithm>

#include "jobs/group_commit_impl.hpp"
#include "jobs/queue_service.hpp"
#include "jobs/time_format.hpp"

namespace mljobs::jobs {
namespace {

using Group = GroupCommit<ClaimRequest, std::vector<Job>>;

// The first claim and those after it with the same models, up to kMaxClaimLimit jobs in
// all: one statement has one models filter, and a bounded size.
std::vector<std::size_t> PickClaims(const std::vector<Group::Queued>& queued) {
  std::vector<std::size_t> chosen;
  const std::vector<std::string>& models = queued.front().request->models;
  int total = 0;
  for (std::size_t i = 0; i < queued.size(); ++i) {
    const ClaimRequest& request = *queued[i].request;
    if (request.models != models || total + request.limit > kMaxClaimLimit) continue;
    total += request.limit;
    chosen.push_back(i);
  }
  return chosen;
}

asio::awaitable<std::vector<std::vector<Job>>> WriteClaims(
    QueueStore& store, obs::RequestStats& stats, const std::vector<const ClaimRequest*>& group) {
  std::vector<ClaimRequest> requests;
  requests.reserve(group.size());
  for (const ClaimRequest* request : group) requests.push_back(*request);
  co_return co_await store.ClaimBatch(stats, requests, NowMicros());
}

}  // namespace

ClaimBatcher::ClaimBatcher(QueueStore& store, std::size_t max_queued)
    : group_(
          PickClaims,
          [&store](obs::RequestStats& stats, const std::vector<const ClaimRequest*>& group) {
            return WriteClaims(store, stats, group);
          },
          max_queued, "claims") {}

asio::awaitable<std::vector<Job>> ClaimBatcher::Claim(obs::RequestStats& stats,
                                                      ClaimRequest request) {
  // A models filter is a set: one spelling of it, so equal filters share a write.
  std::sort(request.models.begin(), request.models.end());
  request.models.erase(std::unique(request.models.begin(), request.models.end()),
                       request.models.end());
  co_return co_await group_.Submit(stats, std::move(request), 1);
}

}  // namespace mljobs::jobs

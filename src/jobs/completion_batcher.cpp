#include "jobs/completion_batcher.hpp"

#include <algorithm>
#include <set>
#include <string_view>

#include "jobs/group_commit_impl.hpp"
#include "jobs/queue_service.hpp"
#include "jobs/time_format.hpp"

namespace mljobs::jobs {
namespace {

using Group = GroupCommit<CompletionGroup, std::vector<LeaseResult>>;

// Whole groups in arrival order, up to kMaxCompleteBatch completions with distinct ids: a
// group repeating an id already chosen waits for the next write, where a repeat of a
// completion is answered as the repeat it is.
std::vector<std::size_t> PickCompletions(const std::vector<Group::Queued>& queued) {
  std::vector<std::size_t> chosen;
  std::set<std::string_view> ids;
  std::size_t total = 0;
  for (std::size_t i = 0; i < queued.size(); ++i) {
    const auto& completions = queued[i].request->completions;
    if (total + completions.size() > kMaxCompleteBatch) continue;
    bool distinct = std::none_of(completions.begin(), completions.end(),
                                 [&](const Completion& c) { return ids.count(c.uuid) > 0; });
    if (!distinct) continue;
    for (const Completion& c : completions) ids.insert(c.uuid);
    total += completions.size();
    chosen.push_back(i);
  }
  return chosen;
}

// One CompleteBatch for all the groups; each gets its slice of the results back.
asio::awaitable<std::vector<std::vector<LeaseResult>>> WriteCompletions(
    QueueStore& store, obs::RequestStats& stats,
    const std::vector<const CompletionGroup*>& groups) {
  std::vector<Completion> all;
  bool with_jobs = false;
  for (const CompletionGroup* group : groups) {
    all.insert(all.end(), group->completions.begin(), group->completions.end());
    with_jobs = with_jobs || group->with_jobs;
  }
  std::vector<LeaseResult> results =
      co_await store.CompleteBatch(stats, all, NowMicros(), with_jobs);
  if (results.size() != all.size()) {
    throw Error(ErrorCode::kInternal, "the store answered a different number of completions");
  }
  std::vector<std::vector<LeaseResult>> out;
  out.reserve(groups.size());
  auto next = results.begin();
  for (const CompletionGroup* group : groups) {
    auto end = next + static_cast<std::ptrdiff_t>(group->completions.size());
    out.emplace_back(std::make_move_iterator(next), std::make_move_iterator(end));
    next = end;
  }
  co_return out;
}

}  // namespace

CompletionBatcher::CompletionBatcher(QueueStore& store, std::size_t max_queued)
    : group_(
          PickCompletions,
          [&store](obs::RequestStats& stats, const std::vector<const CompletionGroup*>& groups) {
            return WriteCompletions(store, stats, groups);
          },
          max_queued, "completions") {}

asio::awaitable<LeaseResult> CompletionBatcher::Complete(obs::RequestStats& stats,
                                                         Completion completion) {
  CompletionGroup group{{std::move(completion)}, true};
  std::vector<LeaseResult> results = co_await group_.Submit(stats, std::move(group), 1);
  co_return std::move(results.at(0));
}

asio::awaitable<std::vector<LeaseResult>> CompletionBatcher::CompleteMany(
    obs::RequestStats& stats, std::vector<Completion> completions) {
  const std::size_t units = completions.size();
  CompletionGroup group{std::move(completions), false};
  co_return co_await group_.Submit(stats, std::move(group), units);
}

}  // namespace mljobs::jobs

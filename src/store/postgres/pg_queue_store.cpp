#include "store/postgres/pg_queue_store.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <unordered_map>

#include "common/error.hpp"
#include "store/postgres/pg_job_row.hpp"
#include "store/postgres/pg_queue_statements.hpp"

namespace mljobs::store::postgres {
namespace {

PgCommand Prepared(const PgStatement& statement, const PgParams& params) {
  return PgCommand{statement.name, statement.sql, &params, true};
}

// Shortest text that float8 input reads back as exactly `value`.
std::string DoubleText(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

// The order a claim promises: priority, then age.
void SortInClaimOrder(std::vector<jobs::Job>& claimed) {
  std::sort(claimed.begin(), claimed.end(), [](const jobs::Job& a, const jobs::Job& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.created_at != b.created_at) return a.created_at < b.created_at;
    return a.id < b.id;
  });
}

}  // namespace

asio::awaitable<std::vector<jobs::Job>> PgQueueStore::Claim(obs::RequestStats& stats,
                                                            const jobs::ClaimRequest& request) {
  PgParams params;
  params.AddTimestamp(request.now);
  params.AddInt64(request.lease_micros);
  params.AddText(request.worker);
  params.AddInt64(request.limit);
  if (request.models.empty()) {
    params.AddNullableText(std::nullopt);
  } else {
    std::vector<std::optional<std::string_view>> models(request.models.begin(),
                                                        request.models.end());
    params.AddTextArray(models);
  }
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kClaimJobs, params));
  std::vector<jobs::Job> claimed;
  claimed.reserve(result.Rows());
  PgJobReader reader(result);
  for (int i = 0; i < result.Rows(); ++i) claimed.push_back(reader.Read(i));
  SortInClaimOrder(claimed);
  co_return claimed;
}

asio::awaitable<jobs::LeaseResult> PgQueueStore::RunLeaseCall(
    obs::RequestStats& stats, const PgStatement& statement, const PgParams& params,
    std::string_view uuid, std::string_view lease_token, bool completing) {
  auto conn = co_await pool_.Acquire();
  PgResult changed = co_await conn->Run(stats, Prepared(statement, params));
  jobs::LeaseResult out;
  if (changed.Rows() == 1) {
    out.outcome = jobs::LeaseOutcome::kOk;
    out.job = PgJobReader(changed).Read(0);
    co_return out;
  }
  PgParams lookup;
  lookup.AddText(uuid);
  PgResult current = co_await conn->Run(stats, Prepared(kLeaseLookup, lookup));
  if (current.Rows() == 1) out.job = PgJobReader(current).Read(0);
  out.outcome = jobs::ExplainUnchanged(out.job, lease_token, completing);
  co_return out;
}

asio::awaitable<jobs::LeaseResult> PgQueueStore::Heartbeat(obs::RequestStats& stats,
                                                           std::string_view uuid,
                                                           std::string_view lease_token,
                                                           jobs::Micros lease_micros,
                                                           jobs::Micros now) {
  PgParams params;
  params.AddText(uuid);
  params.AddText(lease_token);
  params.AddTimestamp(now);
  params.AddInt64(lease_micros);
  co_return co_await RunLeaseCall(stats, kHeartbeatJob, params, uuid, lease_token, false);
}

asio::awaitable<jobs::LeaseResult> PgQueueStore::Complete(obs::RequestStats& stats,
                                                          const jobs::Completion& completion,
                                                          jobs::Micros now) {
  PgParams params;
  params.AddText(completion.uuid);
  params.AddText(completion.lease_token);
  params.AddText(completion.label);
  params.AddText(DoubleText(completion.score));
  params.AddTimestamp(now);
  co_return co_await RunLeaseCall(stats, kCompleteJob, params, completion.uuid,
                                  completion.lease_token, true);
}

asio::awaitable<std::vector<jobs::LeaseOutcome>> PgQueueStore::CompleteBatch(
    obs::RequestStats& stats, std::span<const jobs::Completion> completions, jobs::Micros now) {
  std::vector<jobs::LeaseOutcome> outcomes(completions.size(), jobs::LeaseOutcome::kOk);
  if (completions.empty()) co_return outcomes;
  std::vector<std::string> scores;
  std::vector<std::optional<std::string_view>> uuids, tokens, labels, score_texts;
  scores.reserve(completions.size());
  for (const jobs::Completion& c : completions) {
    uuids.emplace_back(c.uuid);
    tokens.emplace_back(c.lease_token);
    labels.emplace_back(c.label);
    scores.push_back(DoubleText(c.score));
  }
  for (const std::string& s : scores) score_texts.emplace_back(s);
  PgParams params;
  params.AddTextArray(uuids);
  params.AddTextArray(tokens);
  params.AddTextArray(labels);
  params.AddTextArray(score_texts);
  params.AddTimestamp(now);

  auto conn = co_await pool_.Acquire();
  PgResult changed = co_await conn->Run(stats, Prepared(kCompleteJobs, params));
  std::set<std::string, std::less<>> done;
  for (int i = 0; i < changed.Rows(); ++i) done.emplace(changed.Text(i, 0));
  if (done.size() == completions.size()) co_return outcomes;

  // The unhappy path only: one lookup for every job that did not change.
  std::vector<std::optional<std::string_view>> missing;
  for (const jobs::Completion& c : completions) {
    if (!done.contains(c.uuid)) missing.emplace_back(c.uuid);
  }
  PgParams lookup;
  lookup.AddTextArray(missing);
  PgResult current = co_await conn->Run(stats, Prepared(kCompleteJobsLookup, lookup));
  std::unordered_map<std::string, jobs::Job> found;
  PgJobReader reader(current);
  for (int i = 0; i < current.Rows(); ++i) {
    jobs::Job job = reader.Read(i);
    found.emplace(job.uuid, std::move(job));
  }
  for (std::size_t i = 0; i < completions.size(); ++i) {
    if (done.contains(completions[i].uuid)) continue;
    auto it = found.find(completions[i].uuid);
    std::optional<jobs::Job> job;
    if (it != found.end()) job = it->second;
    outcomes[i] = jobs::ExplainUnchanged(job, completions[i].lease_token, true);
  }
  co_return outcomes;
}

asio::awaitable<jobs::LeaseResult> PgQueueStore::Fail(obs::RequestStats& stats,
                                                      std::string_view uuid,
                                                      const jobs::FailRequest& request) {
  PgParams params;
  params.AddText(uuid);
  params.AddText(request.lease_token);
  params.AddInt32(request.retry ? 1 : 0);
  params.AddText(request.error);
  params.AddTimestamp(request.now);
  params.AddInt64(request.backoff_base);
  params.AddInt64(request.backoff_cap);
  co_return co_await RunLeaseCall(stats, kFailJob, params, uuid, request.lease_token, false);
}

asio::awaitable<int> PgQueueStore::ReapExpired(obs::RequestStats& stats, jobs::Micros now,
                                               int limit) {
  PgParams params;
  params.AddTimestamp(now);
  params.AddInt64(limit);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kReapExpiredLeases, params));
  co_return static_cast<int>(result.AffectedRows());
}

jobs::WorkNotifier& PgQueueStore::NewJobs() {
  std::call_once(listener_started_,
                 [this] { listener_ = std::make_unique<PgListener>(url_, new_jobs_); });
  return new_jobs_;
}

}  // namespace mljobs::store::postgres

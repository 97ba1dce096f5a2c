#include "store/postgres/pg_queue_store.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_map>

#include "common/error.hpp"
#include "store/postgres/pg_job_row.hpp"
#include "store/postgres/pg_queue_statements.hpp"

namespace mljobs::store::postgres {
namespace {

// Shortest text that float8 input reads back as exactly `value`.
std::string DoubleText(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

}  // namespace

asio::awaitable<std::vector<std::vector<jobs::Job>>> PgQueueStore::ClaimBatch(
    obs::RequestStats& stats, std::span<const jobs::ClaimRequest> requests, jobs::Micros now) {
  std::vector<std::vector<jobs::Job>> out(requests.size());
  if (requests.empty()) co_return out;
  std::vector<std::optional<std::string_view>> workers;
  std::vector<std::int64_t> leases, limits;
  std::int64_t total = 0;
  for (const jobs::ClaimRequest& request : requests) {
    workers.emplace_back(request.worker);
    leases.push_back(request.lease_micros);
    limits.push_back(request.limit);
    total += request.limit;
  }
  const std::vector<std::string>& models = requests.front().models;
  PgParams params;
  params.AddTimestamp(now);
  if (models.empty()) {
    params.AddNullableText(std::nullopt);
  } else {
    std::vector<std::optional<std::string_view>> names(models.begin(), models.end());
    params.AddTextArray(names);
  }
  params.AddTextArray(workers);
  params.AddInt64Array(leases);
  params.AddInt64Array(limits);
  params.AddInt64(total);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kClaimJobs, &params));
  PgJobReader reader(result);
  const int slot = result.Column("slot");
  for (int i = 0; i < result.Rows(); ++i) {
    out.at(static_cast<std::size_t>(result.Int(i, slot) - 1)).push_back(reader.Read(i));
  }
  claimed_since_tidy_ += result.Rows();
  for (std::vector<jobs::Job>& jobs : out) jobs::SortInClaimOrder(jobs);
  co_return out;
}

asio::awaitable<jobs::LeaseResult> PgQueueStore::RunLeaseCall(
    obs::RequestStats& stats, const PgStatement& statement, const PgParams& params,
    std::string_view uuid, std::string_view lease_token, bool completing) {
  auto conn = co_await pool_.Acquire();
  PgResult changed = co_await conn->Run(stats, Prepared(statement, &params));
  jobs::LeaseResult out;
  if (changed.Rows() == 1) {
    out.outcome = jobs::LeaseOutcome::kOk;
    out.job = PgJobReader(changed).Read(0);
    co_return out;
  }
  PgParams lookup;
  lookup.AddText(uuid);
  PgResult current = co_await conn->Run(stats, Prepared(kLeaseLookup, &lookup));
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

asio::awaitable<std::vector<jobs::LeaseResult>> PgQueueStore::CompleteBatch(
    obs::RequestStats& stats, std::span<const jobs::Completion> completions, jobs::Micros now,
    bool with_jobs) {
  std::vector<jobs::LeaseResult> results(completions.size());
  if (completions.empty()) co_return results;
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
  params.AddText("running");  // a parameter on purpose: see MLJOBS_PG_COMPLETE_JOBS

  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < completions.size(); ++i) index.emplace(completions[i].uuid, i);
  auto conn = co_await pool_.Acquire();
  PgResult changed = co_await conn->Run(
      stats, Prepared(with_jobs ? kCompleteJobsReturningJobs : kCompleteJobs, &params));
  if (with_jobs) {
    PgJobReader reader(changed);
    for (int row = 0; row < changed.Rows(); ++row) {
      jobs::Job job = reader.Read(row);
      jobs::LeaseResult& result = results[index.at(job.uuid)];
      result.outcome = jobs::LeaseOutcome::kOk;
      result.job = std::move(job);
    }
  } else {
    for (int row = 0; row < changed.Rows(); ++row) {
      results[index.at(std::string(changed.Text(row, 0)))].outcome = jobs::LeaseOutcome::kOk;
    }
  }
  if (static_cast<std::size_t>(changed.Rows()) == completions.size()) co_return results;

  // The unhappy path only: one lookup for every job that did not change.
  std::vector<std::optional<std::string_view>> missing;
  for (std::size_t i = 0; i < completions.size(); ++i) {
    if (results[i].outcome != jobs::LeaseOutcome::kOk) missing.emplace_back(completions[i].uuid);
  }
  PgParams lookup;
  lookup.AddTextArray(missing);
  PgResult current = co_await conn->Run(stats, Prepared(kCompleteJobsLookup, &lookup));
  PgJobReader reader(current);
  for (int row = 0; row < current.Rows(); ++row) {
    jobs::Job job = reader.Read(row);
    results[index.at(job.uuid)].job = std::move(job);
  }
  for (std::size_t i = 0; i < completions.size(); ++i) {
    if (results[i].outcome == jobs::LeaseOutcome::kOk) continue;
    results[i].outcome = jobs::ExplainUnchanged(results[i].job, completions[i].lease_token, true);
  }
  co_return results;
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
  PgResult result = co_await conn->Run(stats, Prepared(kReapExpiredLeases, &params));
  co_return static_cast<int>(result.AffectedRows());
}

asio::awaitable<void> PgQueueStore::Tidy(obs::RequestStats& stats) {
  if (claimed_since_tidy_ < tidy_after_claims_) co_return;
  claimed_since_tidy_ = 0;
  auto conn = co_await pool_.Acquire();
  // VACUUM cannot be prepared, nor share a pipeline (an implicit transaction) with another
  // statement: it runs alone, as the unnamed statement.
  co_await conn->Run(stats, PgCommand{kTidyQueue.name, kTidyQueue.sql, nullptr, false});
  PgResult size = co_await conn->Run(stats, Prepared(kQueueSize));
  tidy_after_claims_ = ClaimsPerVacuum(size.Rows() == 1 ? size.Int(0, 0) : 0);
}

std::int64_t PgQueueStore::ClaimsPerVacuum(std::int64_t queued) {
  // Measured at 610,000 queued jobs: the vacuum cost 80 ms of CPU (it reads both indexes
  // whole, ~130 ns per queued job), while each claim of 10 walked the dead entries already
  // marked at ~10 ns each (0.2 ms past 20,000 of them). Vacuuming every N claims costs
  // about 130 ns * queued / N + 0.5 ps * N per job, least at N = sqrt(260 * queued): 12,600
  // claims there, ~1,600 at 10,000 queued. 1,000 at least, so a short queue is not
  // vacuumed after every few claims.
  const double best = std::sqrt(260.0 * static_cast<double>(std::max<std::int64_t>(queued, 0)));
  return std::max<std::int64_t>(1000, static_cast<std::int64_t>(best));
}

jobs::WorkNotifier& PgQueueStore::NewJobs() {
  std::call_once(listener_started_,
                 [this] { listener_ = std::make_unique<PgListener>(url_, new_jobs_); });
  return new_jobs_;
}

}  // namespace mljobs::store::postgres

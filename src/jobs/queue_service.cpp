#include "jobs/queue_service.hpp"

#include <cmath>
#include <iostream>
#include <set>

#include "common/error.hpp"
#include "jobs/time_format.hpp"
#include "jobs/uuid_v7.hpp"

namespace mljobs::jobs {
namespace {

[[noreturn]] void Invalid(const std::string& where, std::string_view field, std::string_view what) {
  throw Error(ErrorCode::kInvalidArgument, where + std::string(field) + ": " + std::string(what));
}

bool IsModelName(std::string_view model) {
  if (model.empty() || model.size() > 128) return false;
  for (char c : model) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':' || c == '/';
    if (!ok) return false;
  }
  return true;
}

void CheckLeaseSeconds(int seconds) {
  if (seconds < 1 || seconds > kMaxLeaseSeconds) {
    Invalid("", "lease_seconds", "must be between 1 and 3600");
  }
}

void CheckResult(const CompleteParams& p, const std::string& where) {
  if (p.label.empty()) Invalid(where, "result_label", "is required and must not be empty");
  if (p.label.size() > kMaxLabelBytes) Invalid(where, "result_label", "is longer than 256 bytes");
  if (!std::isfinite(p.score)) Invalid(where, "result_score", "must be a finite number");
}

std::string NotFoundMessage(std::string_view id) {
  return "no job with id '" + std::string(id) + "'";
}

// The job after a lease call, or the error that tells the holder why nothing changed.
Job Resolve(LeaseResult result, std::string_view id) {
  switch (result.outcome) {
    case LeaseOutcome::kOk:
    case LeaseOutcome::kRepeated:
      return std::move(*result.job);
    case LeaseOutcome::kCancelled:
      throw Error(ErrorCode::kConflict, "job '" + std::string(id) + "' was cancelled", "cancelled");
    case LeaseOutcome::kLeaseLost:
      throw Error(ErrorCode::kConflict,
                  "lease_token does not hold job '" + std::string(id) +
                      "' (the lease expired, or the job was re-leased, retried or finished)",
                  "lease_lost");
    case LeaseOutcome::kNotFound:
      break;
  }
  throw Error(ErrorCode::kNotFound, NotFoundMessage(id));
}

}  // namespace

std::string QueueService::CheckLeaseToken(std::string_view token, const std::string& where) {
  // Tokens are UUIDs on both backends; lower case is how both store them.
  auto normal = NormalizeUuid(token);
  if (!normal) Invalid(where, "lease_token", "must be the UUID the claim returned");
  return *normal;
}

asio::awaitable<std::vector<Job>> QueueService::Claim(obs::RequestStats& stats,
                                                      ClaimParams p) {
  if (p.worker.empty()) Invalid("", "worker", "is required and must not be empty");
  if (p.worker.size() > kMaxWorkerBytes) Invalid("", "worker", "is longer than 128 bytes");
  if (p.limit < 1 || p.limit > kMaxClaimLimit) Invalid("", "limit", "must be between 1 and 1000");
  CheckLeaseSeconds(p.lease_seconds);
  if (p.wait_seconds < 0 || p.wait_seconds > kMaxWaitSeconds) {
    Invalid("", "wait_seconds", "must be between 0 and 60");
  }
  if (p.models.size() > kMaxClaimModels) Invalid("", "models", "may list at most 100 models");
  for (std::size_t i = 0; i < p.models.size(); ++i) {
    if (!IsModelName(p.models[i])) {
      Invalid("", "models[" + std::to_string(i) + "]",
              "must be a model name (1-128 letters, digits and - _ . : /)");
    }
  }
  ClaimRequest request;
  request.worker = std::move(p.worker);
  request.limit = p.limit;
  request.lease_micros = static_cast<Micros>(p.lease_seconds) * 1'000'000;
  request.models = std::move(p.models);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(p.wait_seconds);
  WorkNotifier* notifier = nullptr;
  if (p.wait_seconds > 0) {
    notifier = &store_.NewJobs();
    long_polled_ = true;
  }
  while (true) {
    // Read before claiming: an insert after this claim's snapshot bumps it and so ends the
    // wait below at once; nothing is missed between the two.
    const std::uint64_t seen = notifier ? notifier->Generation() : 0;
    std::vector<Job> claimed = co_await claims_.Claim(stats, request);
    if (!claimed.empty() || notifier == nullptr) co_return claimed;
    if (co_await notifier->Wait(seen, deadline) != WorkNotifier::WaitResult::kNotified) {
      co_return claimed;
    }
  }
}

asio::awaitable<Job> QueueService::Heartbeat(obs::RequestStats& stats, std::string_view id,
                                             std::string lease_token, int lease_seconds) {
  std::string token = CheckLeaseToken(lease_token, "");
  CheckLeaseSeconds(lease_seconds);
  auto uuid = NormalizeUuid(id);
  if (!uuid) throw Error(ErrorCode::kNotFound, NotFoundMessage(id));
  co_return Resolve(co_await store_.Heartbeat(stats, *uuid, token,
                                              static_cast<Micros>(lease_seconds) * 1'000'000,
                                              NowMicros()),
                    id);
}

asio::awaitable<Job> QueueService::Complete(obs::RequestStats& stats, CompleteParams p) {
  std::string token = CheckLeaseToken(p.lease_token, "");
  CheckResult(p, "");
  auto uuid = NormalizeUuid(p.id);
  if (!uuid) throw Error(ErrorCode::kNotFound, NotFoundMessage(p.id));
  Completion completion{*uuid, std::move(token), std::move(p.label), p.score};
  co_return Resolve(co_await completions_.Complete(stats, std::move(completion)), p.id);
}

asio::awaitable<Job> QueueService::Fail(obs::RequestStats& stats, std::string_view id,
                                        FailParams p) {
  FailRequest request;
  request.lease_token = CheckLeaseToken(p.lease_token, "");
  if (p.error.empty()) Invalid("", "error", "is required and must not be empty");
  if (p.error.size() > kMaxErrorBytes) Invalid("", "error", "is longer than 4096 bytes");
  auto uuid = NormalizeUuid(id);
  if (!uuid) throw Error(ErrorCode::kNotFound, NotFoundMessage(id));
  request.error = std::move(p.error);
  request.retry = p.retry;
  request.now = NowMicros();
  request.backoff_base = kBackoffBase;
  request.backoff_cap = kBackoffCap;
  co_return Resolve(co_await store_.Fail(stats, *uuid, request), id);
}

asio::awaitable<std::vector<LeaseOutcome>> QueueService::CompleteBatch(
    obs::RequestStats& stats, std::vector<CompleteParams> batch) {
  if (batch.empty()) Invalid("", "results", "must hold at least one result");
  if (batch.size() > kMaxCompleteBatch) Invalid("", "results", "may hold at most 1000 results");
  std::vector<Completion> completions;
  completions.reserve(batch.size());
  std::set<std::string> ids;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const std::string where = "results[" + std::to_string(i) + "].";
    CompleteParams& p = batch[i];
    std::string token = CheckLeaseToken(p.lease_token, where);
    CheckResult(p, where);
    // An id that is no UUID names no job; the store would only answer not found for it,
    // and PostgreSQL would reject the whole batch, so it is the client's mistake here.
    auto uuid = NormalizeUuid(p.id);
    if (!uuid) Invalid(where, "id", "must be a job id (UUID)");
    if (!ids.insert(*uuid).second) Invalid(where, "id", "appears twice in the batch");
    completions.push_back(Completion{*uuid, std::move(token), std::move(p.label), p.score});
  }
  std::vector<LeaseResult> results =
      co_await completions_.CompleteMany(stats, std::move(completions));
  std::vector<LeaseOutcome> outcomes;
  outcomes.reserve(results.size());
  for (const LeaseResult& result : results) outcomes.push_back(result.outcome);
  co_return outcomes;
}

asio::awaitable<void> QueueService::RunReaper(std::chrono::milliseconds interval) {
  while (true) {
    const std::uint64_t seen = stop_.Generation();
    try {
      obs::RequestStats stats;
      // A full batch means more may be waiting: go again at once.
      while (co_await store_.ReapExpired(stats, NowMicros(), kReapBatch) == kReapBatch) {
      }
      co_await store_.Tidy(stats);
    } catch (const Error& e) {
      std::cerr << "mljobs: reaper: " << e.what() << std::endl;
    }
    if (co_await stop_.Wait(seen, std::chrono::steady_clock::now() + interval) ==
        WorkNotifier::WaitResult::kShutDown) {
      co_return;
    }
  }
}

void QueueService::Stop() {
  stop_.Shutdown();
  if (long_polled_) store_.NewJobs().Shutdown();
}

}  // namespace mljobs::jobs

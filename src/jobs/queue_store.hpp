// The work queue's storage interface (issue 4), implemented by store/postgres and
// store/sqlite: claim runnable jobs under a lease, and let only the lease holder heartbeat,
// complete or fail them. Coroutines on the caller's executor; each records every SQL
// statement it runs into the given RequestStats. Callable from any thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job.hpp"
#include "jobs/work_notifier.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::jobs {

namespace asio = boost::asio;

struct ClaimRequest {
  std::string worker;
  int limit = 1;                    // already checked by the service (1..kMaxClaimLimit)
  Micros lease_micros = 0;          // lease length
  std::vector<std::string> models;  // empty: any model
};

// What a lease holder's call did.
enum class LeaseOutcome {
  kOk,         // the statement changed the job
  kRepeated,   // already completed with this same token: an idempotent repeat, no change
  kNotFound,   // no such job
  kLeaseLost,  // the token no longer holds the job: expired, re-leased, retried, finished
  kCancelled,  // the job was cancelled (while running)
};

struct LeaseResult {
  LeaseOutcome outcome = LeaseOutcome::kNotFound;
  std::optional<Job> job;  // the job after the call (absent when not found)
};

// Why a lease holder's statement changed nothing, from the job as it is now (nullopt:
// absent). `completing`: a completion, which a repeat with the same token may answer.
LeaseOutcome ExplainUnchanged(const std::optional<Job>& job, std::string_view lease_token,
                              bool completing);

// Sorts jobs into the order a claim promises: priority (highest first), then age
// (created_at, id). RETURNING gives rows in no promised order.
void SortInClaimOrder(std::vector<Job>& jobs);

struct Completion {
  std::string uuid;
  std::string lease_token;
  std::string label;
  double score = 0;
};

struct FailRequest {
  std::string lease_token;
  std::string error;
  bool retry = true;
  Micros now = 0;
  // Backoff before retry number k (k = attempts so far): min(base * 2^(k-1), cap).
  Micros backoff_base = 0;
  Micros backoff_cap = 0;
};

class QueueStore {
 public:
  virtual ~QueueStore() = default;

  // Leases, for each request in turn, up to its limit of the pending jobs whose run_after
  // has passed (of the requests' models, which are the same for all of them), highest
  // priority first, then oldest (created_at, id): the first request gets the first jobs
  // in that order, the next the following ones. Each job becomes running with attempts +
  // 1, started_at = now, a fresh random lease_token, and its request's worker and
  // lease_expires_at = now + lease. One statement; concurrent claims never share a job.
  // Returns each request's jobs in claim order, with input_text and metadata.
  virtual asio::awaitable<std::vector<std::vector<Job>>> ClaimBatch(
      obs::RequestStats& stats, std::span<const ClaimRequest> requests, Micros now) = 0;

  // Extends the lease of a running job held with `lease_token` to now + lease. One
  // statement when it succeeds; one more to tell why it did not.
  virtual asio::awaitable<LeaseResult> Heartbeat(obs::RequestStats& stats, std::string_view uuid,
                                                 std::string_view lease_token, Micros lease_micros,
                                                 Micros now) = 0;

  // Completes many jobs in one statement (plus one lookup of those that did not change):
  // running with the token -> completed with the result, keeping the token so that a
  // repeat with the same token is kRepeated. One result per input, in input order. With
  // `with_jobs`, each result carries the job as it is after the call (input_text and
  // metadata included); without it, only outcomes are promised. Ids are distinct; ids and
  // tokens are already checked to be UUIDs.
  virtual asio::awaitable<std::vector<LeaseResult>> CompleteBatch(
      obs::RequestStats& stats, std::span<const Completion> completions, Micros now,
      bool with_jobs) = 0;

  // running with this token -> pending again with run_after = now + backoff when
  // request.retry and attempts < max_attempts, else failed; error is kept either way and
  // the lease is cleared. One statement when it succeeds.
  virtual asio::awaitable<LeaseResult> Fail(obs::RequestStats& stats, std::string_view uuid,
                                            const FailRequest& request) = 0;

  // Up to `limit` running jobs whose lease expired before `now` go back to pending (run
  // now) or, when their attempts are used up, to failed with error "lease expired". One
  // statement on the running-lease index. Returns how many rows changed.
  virtual asio::awaitable<int> ReapExpired(obs::RequestStats& stats, Micros now, int limit) = 0;

  // Upkeep the reaper runs every tick. PostgreSQL vacuums its queue table (see migration
  // 0009) once enough jobs were claimed through this store since the last time; SQLite
  // has none to do. Runs no statement when there is nothing to do.
  virtual asio::awaitable<void> Tidy(obs::RequestStats& stats) = 0;

  // Signalled (at least) whenever jobs were inserted into this database; long-polling
  // claims wait on it.
  virtual WorkNotifier& NewJobs() = 0;
};

}  // namespace mljobs::jobs

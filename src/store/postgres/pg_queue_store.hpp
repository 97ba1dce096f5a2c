// PgQueueStore: the PostgreSQL implementation of jobs::QueueStore, on the backend's shared
// PgPool, plus the LISTEN connection that wakes long-polling claims (started on first
// use). Thread-safe: its coroutines may run concurrently on any thread of the executor.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "jobs/queue_store.hpp"
#include "store/postgres/pg_listener.hpp"
#include "store/postgres/pg_pool.hpp"
#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {

class PgQueueStore final : public jobs::QueueStore {
 public:
  // `pool` must outlive this store (PgBackend owns both); `url` is the pool's URL, for the
  // LISTEN connection; at most `max_waiters` claims long-poll at once.
  PgQueueStore(PgPool& pool, std::string url, std::size_t max_waiters)
      : pool_(pool), url_(std::move(url)), new_jobs_(max_waiters) {}

  asio::awaitable<std::vector<std::vector<jobs::Job>>> ClaimBatch(
      obs::RequestStats& stats, std::span<const jobs::ClaimRequest> requests,
      jobs::Micros now) override;
  asio::awaitable<jobs::LeaseResult> Heartbeat(obs::RequestStats& stats, std::string_view uuid,
                                               std::string_view lease_token,
                                               jobs::Micros lease_micros,
                                               jobs::Micros now) override;
  asio::awaitable<std::vector<jobs::LeaseResult>> CompleteBatch(
      obs::RequestStats& stats, std::span<const jobs::Completion> completions, jobs::Micros now,
      bool with_jobs) override;
  asio::awaitable<jobs::LeaseResult> Fail(obs::RequestStats& stats, std::string_view uuid,
                                          const jobs::FailRequest& request) override;
  asio::awaitable<int> ReapExpired(obs::RequestStats& stats, jobs::Micros now,
                                   int limit) override;
  asio::awaitable<void> Tidy(obs::RequestStats& stats) override;
  jobs::WorkNotifier& NewJobs() override;

 private:
  // Runs a single-job lease statement; on no row, looks the job up to say why.
  asio::awaitable<jobs::LeaseResult> RunLeaseCall(obs::RequestStats& stats,
                                                  const PgStatement& statement,
                                                  const PgParams& params, std::string_view uuid,
                                                  std::string_view lease_token, bool completing);

  PgPool& pool_;
  const std::string url_;
  // Claims between two vacuums of ml_jobs_queue for a queue of `queued` jobs (the count
  // the last vacuum left in pg_class.reltuples).
  static std::int64_t ClaimsPerVacuum(std::int64_t queued);

  // Jobs claimed since the last vacuum of ml_jobs_queue: each left a dead row and two
  // dead index entries at the head of the claim order. Tidy vacuums past tidy_after_claims_.
  std::atomic<std::int64_t> claimed_since_tidy_{0};
  std::atomic<std::int64_t> tidy_after_claims_{1000};
  jobs::WorkNotifier new_jobs_;
  std::once_flag listener_started_;
  std::unique_ptr<PgListener> listener_;  // declared last: stops before new_jobs_ goes
};

}  // namespace mljobs::store::postgres

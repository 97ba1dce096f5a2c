// PgArchiveStore: the PostgreSQL implementation of jobs::ArchiveStore over the shared
// PgPool (monthly partitions of ml_jobs_archive). Thread-safe: coroutines on any thread of
// the pool's executor.
#pragma once

#include "jobs/archive_store.hpp"
#include "store/postgres/pg_pool.hpp"

namespace mljobs::store::postgres {

class PgArchiveStore final : public jobs::ArchiveStore {
 public:
  // `pool` must outlive the store (PgBackend owns both).
  explicit PgArchiveStore(PgPool& pool) : pool_(pool) {}

  asio::awaitable<std::unique_ptr<jobs::RunLock>> TryLockRun(obs::RequestStats& stats,
                                                             jobs::ArchiveRun run) override;
  asio::awaitable<std::int64_t> ArchiveBatch(obs::RequestStats& stats, jobs::Micros cutoff,
                                             int limit, jobs::Micros now) override;
  asio::awaitable<jobs::PurgeStep> PurgeBatch(obs::RequestStats& stats, jobs::Micros cutoff,
                                              int limit) override;

 private:
  PgPool& pool_;
};

}  // namespace mljobs::store::postgres

// PgStatsStore: the PostgreSQL implementation of jobs::StatsStore over the shared PgPool.
// Thread-safe: its coroutines may run concurrently on any thread of the pool's executor.
#pragma once

#include "jobs/stats_store.hpp"
#include "store/postgres/pg_pool.hpp"

namespace mljobs::store::postgres {

class PgStatsStore final : public jobs::StatsStore {
 public:
  // `pool` must outlive the store (PgBackend owns both).
  explicit PgStatsStore(PgPool& pool) : pool_(pool) {}

  asio::awaitable<jobs::CounterSnapshot> Snapshot(obs::RequestStats& stats,
                                                  jobs::Micros since_hour) override;
  asio::awaitable<std::vector<jobs::HourCounts>> Hours(obs::RequestStats& stats,
                                                       jobs::Micros from_hour,
                                                       jobs::Micros to_hour) override;
  asio::awaitable<void> RebuildCounters(obs::RequestStats& stats) override;

 private:
  PgPool& pool_;
};

}  // namespace mljobs::store::postgres

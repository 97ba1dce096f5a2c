// PgAdminStore: the PostgreSQL implementation of jobs::AdminStore (catalogue statistics,
// EXPLAIN ANALYZE of the list statements built by pg_list_sql, PgPool counters).
// Thread-safe: its coroutines may run concurrently on any thread of the pool's executor.
#pragma once

#include "jobs/admin_store.hpp"
#include "store/postgres/pg_pool.hpp"

namespace mljobs::store::postgres {

class PgAdminStore final : public jobs::AdminStore {
 public:
  // `pool` must outlive the store (PgBackend owns both).
  explicit PgAdminStore(PgPool& pool) : pool_(pool) {}

  asio::awaitable<jobs::DbHealth> Health(obs::RequestStats& stats) override;
  asio::awaitable<std::optional<jobs::ExplainResult>> Explain(obs::RequestStats& stats,
                                                              jobs::ExplainTarget target) override;
  jobs::PoolStats Pool() const override;

 private:
  asio::awaitable<std::optional<jobs::ExplainResult>> ExplainClaim(obs::RequestStats& stats,
                                                                   jobs::Micros now);

  PgPool& pool_;
};

}  // namespace mljobs::store::postgres

// PgTokenStore: the PostgreSQL implementation of jobs::TokenStore over the shared PgPool.
// Thread-safe: its coroutines may run concurrently on any thread of the pool's executor.
#pragma once

#include "jobs/token_store.hpp"
#include "store/postgres/pg_pool.hpp"

namespace mljobs::store::postgres {

class PgTokenStore final : public jobs::TokenStore {
 public:
  // `pool` must outlive the store (PgBackend owns both).
  explicit PgTokenStore(PgPool& pool) : pool_(pool) {}

  asio::awaitable<jobs::TokenInfo> Create(obs::RequestStats& stats, std::string_view name,
                                          jobs::Role role, std::string_view token_hash,
                                          jobs::Micros now) override;
  asio::awaitable<std::optional<jobs::TokenInfo>> CreateFirst(obs::RequestStats& stats,
                                                              std::string_view name,
                                                              jobs::Role role,
                                                              std::string_view token_hash,
                                                              jobs::Micros now) override;
  asio::awaitable<std::optional<jobs::TokenInfo>> FindActive(
      obs::RequestStats& stats, std::string_view token_hash) override;
  asio::awaitable<std::vector<jobs::TokenInfo>> List(obs::RequestStats& stats) override;
  asio::awaitable<bool> Revoke(obs::RequestStats& stats, std::string_view name,
                               jobs::Micros now) override;

 private:
  PgPool& pool_;
};

}  // namespace mljobs::store::postgres

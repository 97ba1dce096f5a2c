// The SQLite implementation of jobs::TokenStore. Every sqlite3 call runs on the shared
// SqliteDatabase's threads (writes on the writer, lookups on a reader). Callable from any
// executor.
#pragma once

#include "jobs/token_store.hpp"
#include "store/sqlite/sqlite_database.hpp"

namespace mljobs::store::sqlite {

class SqliteTokenStore final : public jobs::TokenStore {
 public:
  // `db` must outlive the store (SqliteBackend owns both).
  explicit SqliteTokenStore(SqliteDatabase& db) : db_(db) {}

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
  SqliteDatabase& db_;
};

}  // namespace mljobs::store::sqlite

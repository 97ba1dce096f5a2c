// The SQLite implementation of jobs::AdminStore: dbstat page counts, file and WAL sizes,
// EXPLAIN QUERY PLAN of the list statements built by sqlite_list_sql, and the reader
// connections as the pool. sqlite3 calls run on the shared SqliteDatabase's threads.
#pragma once

#include "jobs/admin_store.hpp"
#include "store/sqlite/sqlite_database.hpp"

namespace mljobs::store::sqlite {

class SqliteAdminStore final : public jobs::AdminStore {
 public:
  // `db` must outlive the store (SqliteBackend owns both).
  explicit SqliteAdminStore(SqliteDatabase& db) : db_(db) {}

  asio::awaitable<jobs::DbHealth> Health(obs::RequestStats& stats) override;
  asio::awaitable<std::optional<jobs::ExplainResult>> Explain(obs::RequestStats& stats,
                                                              jobs::ExplainTarget target) override;
  jobs::PoolStats Pool() const override { return db_.ReaderStats(); }

 private:
  asio::awaitable<std::optional<jobs::ExplainResult>> ExplainStatusCount(obs::RequestStats& stats,
                                                                         jobs::Micros now);
  asio::awaitable<std::optional<jobs::ExplainResult>> ExplainClaim(obs::RequestStats& stats,
                                                                   jobs::Micros now);

  SqliteDatabase& db_;
};

}  // namespace mljobs::store::sqlite

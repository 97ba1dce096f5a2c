// SqliteBulkLoad: jobs::BulkLoadStore for SQLite: one prepared insert with positional
// parameters, stepped once per row inside one transaction on the writer connection, with
// durability relaxed for the load. Its calls run on the SqliteDatabase writer thread.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jobs/bulk_load_store.hpp"
#include "jobs/counter_tally.hpp"
#include "store/sqlite/sqlite_database.hpp"

struct sqlite3_stmt;

namespace mljobs::store::sqlite {

class SqliteBulkLoad final : public jobs::BulkLoadStore {
 public:
  // `db` must outlive this store (SqliteBackend owns both).
  explicit SqliteBulkLoad(SqliteDatabase& db) : db_(db) {}
  // Finalizes an insert left prepared by an unfinished load; the writer connection's close
  // (in ~SqliteDatabase) then rolls its transaction back.
  ~SqliteBulkLoad() override;
  SqliteBulkLoad(const SqliteBulkLoad&) = delete;
  SqliteBulkLoad& operator=(const SqliteBulkLoad&) = delete;

  asio::awaitable<bool> Begin(obs::RequestStats& stats) override;
  asio::awaitable<void> Append(obs::RequestStats& stats, std::span<const jobs::Job> rows) override;
  asio::awaitable<std::int64_t> Finish(obs::RequestStats& stats,
                                       const jobs::BulkLoadPhaseFn& on_phase) override;

 private:
  // Writer thread only: ends a failed load.
  void Abandon(Connection& connection) noexcept;

  SqliteDatabase& db_;
  // The state below is touched on the writer thread only (inside OnWriter).
  bool active_ = false;             // from Begin to the end of Finish (or a failure)
  sqlite3_stmt* insert_ = nullptr;  // prepared from Begin to Finish
  std::int64_t rows_ = 0;
  // Secondary indexes dropped by Begin: (name, CREATE INDEX statement from sqlite_master).
  std::vector<std::pair<std::string, std::string>> dropped_indexes_;
  // The writer's settings before the load, restored by Finish.
  std::int64_t saved_synchronous_ = 1;
  std::int64_t saved_cache_size_ = -2000;
  std::int64_t saved_threads_ = 0;
  std::optional<jobs::CounterTally> tally_;  // what the appended rows add to the counters
};

}  // namespace mljobs::store::sqlite

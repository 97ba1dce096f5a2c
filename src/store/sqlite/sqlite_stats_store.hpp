// SqliteStatsStore: the SQLite implementation of jobs::StatsStore. Coroutines on the
// caller's executor; every sqlite3 call runs on the shared SqliteDatabase's threads.
#pragma once

#include "jobs/stats_store.hpp"
#include "store/sqlite/sqlite_database.hpp"

namespace mljobs::store::sqlite {

class SqliteStatsStore final : public jobs::StatsStore {
 public:
  // `db` must outlive the store (SqliteBackend owns both).
  explicit SqliteStatsStore(SqliteDatabase& db) : db_(db) {}

  asio::awaitable<jobs::CounterSnapshot> Snapshot(obs::RequestStats& stats,
                                                  jobs::Micros since_hour) override;
  asio::awaitable<std::vector<jobs::HourCounts>> Hours(obs::RequestStats& stats,
                                                       jobs::Micros from_hour,
                                                       jobs::Micros to_hour) override;
  asio::awaitable<void> RebuildCounters(obs::RequestStats& stats) override;

 private:
  SqliteDatabase& db_;
};

}  // namespace mljobs::store::sqlite

#include "store/sqlite/sqlite_stats_store.hpp"

#include "store/sqlite/sqlite_stats_statements.hpp"

namespace mljobs::store::sqlite {

asio::awaitable<jobs::CounterSnapshot> SqliteStatsStore::Snapshot(obs::RequestStats& stats,
                                                                  jobs::Micros since_hour) {
  co_return co_await db_.OnReader([&](Connection& connection) {
    StatementTimer timer(stats, kStatsSnapshot.name);
    Statement statement = connection.Prepare(kStatsSnapshot.sql());
    statement.BindInt64(":since", since_hour);
    jobs::CounterSnapshot snapshot;
    std::int64_t rows = 0;
    while (statement.Step()) {
      ++rows;
      jobs::AddCounterRow(snapshot, statement.Text(0), statement.Int64(1) != 0,
                          statement.Text(2), statement.Text(3), statement.Int64(4),
                          statement.Int64(5), statement.Int64(6));
    }
    timer.Done(rows);
    jobs::FinishSnapshot(snapshot);
    return snapshot;
  });
}

asio::awaitable<std::vector<jobs::HourCounts>> SqliteStatsStore::Hours(obs::RequestStats& stats,
                                                                       jobs::Micros from_hour,
                                                                       jobs::Micros to_hour) {
  co_return co_await db_.OnReader([&](Connection& connection) {
    StatementTimer timer(stats, kStatsHours.name);
    Statement statement = connection.Prepare(kStatsHours.sql());
    statement.BindInt64(":from", from_hour);
    statement.BindInt64(":to", to_hour);
    std::vector<jobs::HourCounts> hours;
    while (statement.Step()) {
      hours.push_back(jobs::HourCounts{statement.Int64(0), statement.Int64(1),
                                       statement.Int64(2), statement.Int64(3)});
    }
    timer.Done(static_cast<std::int64_t>(hours.size()));
    return hours;
  });
}

asio::awaitable<void> SqliteStatsStore::RebuildCounters(obs::RequestStats& stats) {
  co_await db_.OnWriter([&](Connection& connection) {
    // BEGIN IMMEDIATE: the write lock keeps every other writer (another process) out
    // until the counters match the tables again.
    Transaction transaction(connection);
    {
      StatementTimer timer(stats, kRebuildClear.name);
      Statement statement = connection.Prepare(kRebuildClear.sql());
      statement.Step();
      timer.Done(0);
    }
    {
      StatementTimer timer(stats, kRebuildFill.name);
      Statement statement = connection.Prepare(kRebuildFill.sql());
      statement.Step();
      timer.Done(0);
    }
    transaction.Commit();
  });
}

}  // namespace mljobs::store::sqlite

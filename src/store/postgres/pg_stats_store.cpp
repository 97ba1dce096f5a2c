#include "store/postgres/pg_stats_store.hpp"

#include <array>

#include "store/postgres/pg_stats_statements.hpp"

namespace mljobs::store::postgres {
namespace {

PgCommand Unprepared(const PgStatement& statement) {
  return PgCommand{statement.name, statement.sql, nullptr, false};
}

}  // namespace

asio::awaitable<jobs::CounterSnapshot> PgStatsStore::Snapshot(obs::RequestStats& stats,
                                                              jobs::Micros since_hour) {
  PgParams params;
  params.AddTimestamp(since_hour);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kStatsSnapshot, &params));
  jobs::CounterSnapshot snapshot;
  for (int row = 0; row < result.Rows(); ++row) {
    jobs::AddCounterRow(snapshot, result.Text(row, 0), result.Int(row, 1) != 0,
                        result.Text(row, 2), result.Text(row, 3), result.Int(row, 4),
                        result.Int(row, 5), result.Int(row, 6));
  }
  jobs::FinishSnapshot(snapshot);
  co_return snapshot;
}

asio::awaitable<std::vector<jobs::HourCounts>> PgStatsStore::Hours(obs::RequestStats& stats,
                                                                   jobs::Micros from_hour,
                                                                   jobs::Micros to_hour) {
  PgParams params;
  params.AddTimestamp(from_hour);
  params.AddTimestamp(to_hour);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kStatsHours, &params));
  std::vector<jobs::HourCounts> hours;
  hours.reserve(result.Rows());
  for (int row = 0; row < result.Rows(); ++row) {
    hours.push_back(jobs::HourCounts{result.Timestamp(row, 0), result.Int(row, 1),
                                     result.Int(row, 2), result.Int(row, 3)});
  }
  co_return hours;
}

asio::awaitable<void> PgStatsStore::RebuildCounters(obs::RequestStats& stats) {
  // One pipeline; on a failure the connection is left inside the failed transaction and
  // the pool discards it, which rolls it back.
  const std::array<PgCommand, 5> commands{Unprepared(kRebuildBegin), Unprepared(kRebuildLock),
                                          Unprepared(kRebuildClear), Unprepared(kRebuildFill),
                                          Unprepared(kRebuildCommit)};
  auto conn = co_await pool_.Acquire();
  co_await conn->Run(stats, commands);
}

}  // namespace mljobs::store::postgres

#include "store/postgres/pg_archive_store.hpp"

#include <array>

#include "store/postgres/pg_archive_statements.hpp"

namespace mljobs::store::postgres {
namespace {

PgCommand Prepared(const PgStatement& statement, const PgParams* params) {
  return PgCommand{statement.name, statement.sql, params, true};
}

}  // namespace

asio::awaitable<std::int64_t> PgArchiveStore::ArchiveBatch(obs::RequestStats& stats,
                                                           jobs::Micros cutoff, int limit,
                                                           jobs::Micros now) {
  PgParams candidates;
  candidates.AddTimestamp(cutoff);
  candidates.AddInt32(limit);
  PgParams batch = candidates;
  batch.AddTimestamp(now);
  // One round trip, one implicit transaction: the partitions the batch needs, then the batch.
  const std::array<PgCommand, 2> commands{Prepared(kArchiveEnsurePartitions, &candidates),
                                          Prepared(kArchiveBatch, &batch)};
  auto conn = co_await pool_.Acquire();
  std::vector<PgResult> results = co_await conn->Run(stats, commands);
  co_return results[1].AffectedRows();
}

asio::awaitable<jobs::PurgeStep> PgArchiveStore::PurgeBatch(obs::RequestStats& stats,
                                                            jobs::Micros cutoff, int limit) {
  jobs::PurgeStep step;
  PgParams before;
  before.AddTimestamp(cutoff);
  auto conn = co_await pool_.Acquire();
  PgResult months = co_await conn->Run(stats, Prepared(kPurgeExpiredMonths, &before));
  for (int row = 0; row < months.Rows(); ++row) {
    std::int64_t month = months.Int(row, 0);
    PgParams drop;
    drop.AddInt32(static_cast<std::int32_t>(month));
    PgResult dropped = co_await conn->Run(stats, Prepared(kPurgeDropMonth, &drop));
    if (dropped.Rows() == 1 && !dropped.IsNull(0, 0)) {
      step.purged += dropped.Int(0, 0);
      step.dropped.push_back("ml_jobs_archive_" + std::to_string(month));
    }
  }
  PgParams batch = before;
  batch.AddInt32(limit);
  PgResult deleted = co_await conn->Run(stats, Prepared(kPurgeBatch, &batch));
  step.purged += deleted.AffectedRows();
  step.more = deleted.AffectedRows() >= limit;
  co_return step;
}

}  // namespace mljobs::store::postgres

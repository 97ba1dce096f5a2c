#include "store/postgres/pg_archive_store.hpp"

#include <array>
#include <boost/asio/this_coro.hpp>
#include <chrono>

#include "common/error.hpp"

#include "store/postgres/pg_archive_statements.hpp"

namespace mljobs::store::postgres {
namespace {

// A run lock's connection is opened for the run alone: a pooled one would go back to the
// pool still holding the lock if a release were ever missed.
constexpr std::chrono::milliseconds kLockConnectTimeout{3000};

class PgRunLock final : public jobs::RunLock {
 public:
  PgRunLock(std::unique_ptr<PgConnection> conn, long long key) : conn_(std::move(conn)), key_(key) {}

  // Unlocks explicitly: closing the connection frees the lock too, but only once the server
  // has noticed, which a run started right after could beat.
  asio::awaitable<void> Release() override {
    if (!conn_) co_return;
    PgParams params;
    params.AddInt64(key_);
    obs::RequestStats stats;
    try {
      co_await conn_->Run(stats, PgCommand{kRunUnlock.name, kRunUnlock.sql, &params, false});
    } catch (const Error&) {
      // The connection closes below, which frees the lock.
    }
    conn_.reset();
  }

 private:
  std::unique_ptr<PgConnection> conn_;
  long long key_;
};

}  // namespace

asio::awaitable<std::unique_ptr<jobs::RunLock>> PgArchiveStore::TryLockRun(obs::RequestStats& stats,
                                                                          jobs::ArchiveRun run) {
  const long long key = run == jobs::ArchiveRun::kArchive ? kArchiveRunLockKey : kPurgeRunLockKey;
  auto executor = co_await asio::this_coro::executor;
  std::unique_ptr<PgConnection> conn =
      co_await PgConnection::Connect(executor, pool_.url(), kLockConnectTimeout);
  co_await conn->RunScript(kRunLockKeepalives);
  PgParams params;
  params.AddInt64(key);
  PgResult locked =
      co_await conn->Run(stats, PgCommand{kTryRunLock.name, kTryRunLock.sql, &params, false});
  if (locked.Int(0, 0) == 0) co_return nullptr;
  co_return std::make_unique<PgRunLock>(std::move(conn), key);
}

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

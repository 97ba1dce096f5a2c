#include "store/sqlite/sqlite_archive_store.hpp"

#include <sqlite3.h>

#include "common/error.hpp"
#include "store/sqlite/sqlite_archive_statements.hpp"

namespace mljobs::store::sqlite {
namespace {

template <typename Sql>
std::int64_t RunChange(Connection& connection, obs::RequestStats& stats, const Sql& sql,
                       jobs::Micros cutoff, int limit, const jobs::Micros* now) {
  StatementTimer timer(stats, sql.name);
  Statement statement = connection.Prepare(sql.sql());
  statement.BindInt64(":cutoff", cutoff);
  statement.BindInt64(":limit", limit);
  if (now != nullptr) statement.BindInt64(":now", *now);
  statement.Step();
  std::int64_t changed = sqlite3_changes64(connection.handle());
  timer.Done(changed);
  return changed;
}

}  // namespace

asio::awaitable<std::int64_t> SqliteArchiveStore::ArchiveBatch(obs::RequestStats& stats,
                                                               jobs::Micros cutoff, int limit,
                                                               jobs::Micros now) {
  co_return co_await db_.OnWriter([&](Connection& connection) {
    // One transaction: a crash before COMMIT leaves every row where it was.
    Transaction transaction(connection);
    std::int64_t copied = RunChange(connection, stats, kArchiveCopy, cutoff, limit, &now);
    std::int64_t deleted = RunChange(connection, stats, kArchiveDelete, cutoff, limit, nullptr);
    if (copied != deleted) {
      // Cannot happen under the write lock; rolled back rather than risk a job in both.
      throw Error(ErrorCode::kInternal, "sqlite: archive copied " + std::to_string(copied) +
                                            " rows but deleted " + std::to_string(deleted));
    }
    transaction.Commit();
    return copied;
  });
}

asio::awaitable<jobs::PurgeStep> SqliteArchiveStore::PurgeBatch(obs::RequestStats& stats,
                                                                jobs::Micros cutoff, int limit) {
  co_return co_await db_.OnWriter([&](Connection& connection) {
    jobs::PurgeStep step;
    step.purged = RunChange(connection, stats, kPurgeBatch, cutoff, limit, nullptr);
    step.more = step.purged >= limit;
    return step;
  });
}

}  // namespace mljobs::store::sqlite

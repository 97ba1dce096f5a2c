#include "store/sqlite/sqlite_archive_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

class SqliteRunLock final : public jobs::RunLock {
 public:
  explicit SqliteRunLock(int fd) : fd_(fd) {}
  ~SqliteRunLock() override { Close(); }

  asio::awaitable<void> Release() override {
    Close();
    co_return;
  }

 private:
  void Close() {
    if (fd_ >= 0) ::close(fd_);  // closing the last descriptor drops the flock
    fd_ = -1;
  }
  int fd_;
};

}  // namespace

asio::awaitable<std::unique_ptr<jobs::RunLock>> SqliteArchiveStore::TryLockRun(
    obs::RequestStats&, jobs::ArchiveRun run) {
  const std::string path =
      db_.path() + (run == jobs::ArchiveRun::kArchive ? "-archive.lock" : "-purge.lock");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorCode::kUnavailable,
                "sqlite: cannot open the run lock file " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) co_return nullptr;
    throw Error(ErrorCode::kUnavailable,
                "sqlite: cannot lock " + path + ": " + std::strerror(error));
  }
  co_return std::make_unique<SqliteRunLock>(fd);
}

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

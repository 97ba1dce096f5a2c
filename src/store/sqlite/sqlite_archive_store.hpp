// SqliteArchiveStore: the SQLite implementation of jobs::ArchiveStore. Coroutines on the
// caller's executor; every sqlite3 call runs on the shared SqliteDatabase's writer thread.
#pragma once

#include "jobs/archive_store.hpp"
#include "store/sqlite/sqlite_database.hpp"

namespace mljobs::store::sqlite {

class SqliteArchiveStore final : public jobs::ArchiveStore {
 public:
  // `db` must outlive the store (SqliteBackend owns both).
  explicit SqliteArchiveStore(SqliteDatabase& db) : db_(db) {}

  // An exclusive flock(2) on "<database>-archive.lock" (or "-purge.lock") next to the
  // database file: it excludes runs in this process (each lock opens its own descriptor)
  // and in any other one, and the kernel frees it when its holder dies.
  asio::awaitable<std::unique_ptr<jobs::RunLock>> TryLockRun(obs::RequestStats& stats,
                                                             jobs::ArchiveRun run) override;
  asio::awaitable<std::int64_t> ArchiveBatch(obs::RequestStats& stats, jobs::Micros cutoff,
                                             int limit, jobs::Micros now) override;
  asio::awaitable<jobs::PurgeStep> PurgeBatch(obs::RequestStats& stats, jobs::Micros cutoff,
                                              int limit) override;

 private:
  SqliteDatabase& db_;
};

}  // namespace mljobs::store::sqlite

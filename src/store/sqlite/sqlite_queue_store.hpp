// SqliteQueueStore: the SQLite implementation of jobs::QueueStore. Every sqlite3 call runs
// on the SqliteDatabase's threads (writes on its one writer thread, which is what makes a
// claim atomic); long polls wait on the database's in-process new-jobs notifier.
// Callable from any executor.
#pragma once

#include "jobs/queue_store.hpp"
#include "store/sqlite/sqlite_database.hpp"

namespace mljobs::store::sqlite {

class SqliteQueueStore final : public jobs::QueueStore {
 public:
  explicit SqliteQueueStore(SqliteDatabase& db) : db_(db) {}

  asio::awaitable<std::vector<std::vector<jobs::Job>>> ClaimBatch(
      obs::RequestStats& stats, std::span<const jobs::ClaimRequest> requests,
      jobs::Micros now) override;
  asio::awaitable<jobs::LeaseResult> Heartbeat(obs::RequestStats& stats, std::string_view uuid,
                                               std::string_view lease_token,
                                               jobs::Micros lease_micros,
                                               jobs::Micros now) override;
  asio::awaitable<std::vector<jobs::LeaseResult>> CompleteBatch(
      obs::RequestStats& stats, std::span<const jobs::Completion> completions, jobs::Micros now,
      bool with_jobs) override;
  asio::awaitable<jobs::LeaseResult> Fail(obs::RequestStats& stats, std::string_view uuid,
                                          const jobs::FailRequest& request) override;
  asio::awaitable<int> ReapExpired(obs::RequestStats& stats, jobs::Micros now,
                                   int limit) override;
  // SQLite removes index entries as rows change: nothing piles up to clean.
  asio::awaitable<void> Tidy(obs::RequestStats&) override { co_return; }
  // Signalled by SqliteJobStore after each insert in this process. Another process
  // inserting into the same file is not heard: its jobs are found by the next claim.
  jobs::WorkNotifier& NewJobs() override { return db_.new_jobs(); }

 private:
  SqliteDatabase& db_;
};

}  // namespace mljobs::store::sqlite

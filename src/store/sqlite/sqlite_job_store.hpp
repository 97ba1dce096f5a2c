// The SQLite implementation of jobs::JobStore. Its methods are coroutines on the caller's
// executor; every sqlite3 call runs on the SqliteDatabase's threads (one writer,
// `pool_size` readers), never on the caller's io thread. Callable from any executor.
#pragma once

#include <memory>
#include <string>

#include "jobs/job_store.hpp"
#include "store/sqlite/sqlite_database.hpp"

namespace mljobs::store::sqlite {

namespace asio = boost::asio;

class SqliteJobStore final : public jobs::JobStore {
 public:
  explicit SqliteJobStore(SqliteDatabase& db);

  std::string_view Backend() const override { return "sqlite"; }
  asio::awaitable<void> Migrate() override;
  asio::awaitable<std::string> ServerSecret(obs::RequestStats& stats) override;
  asio::awaitable<jobs::Job> Insert(obs::RequestStats& stats, const jobs::NewJob& job) override;
  asio::awaitable<void> InsertBatch(obs::RequestStats& stats,
                                    std::span<const jobs::NewJob> jobs) override;
  asio::awaitable<std::optional<jobs::Job>> Get(obs::RequestStats& stats, std::string_view uuid,
                                                const std::optional<std::string>& owner) override;
  asio::awaitable<jobs::CancelResult> Cancel(obs::RequestStats& stats, std::string_view uuid,
                                             const std::optional<std::string>& owner,
                                             jobs::Micros now) override;
  asio::awaitable<jobs::Page> List(obs::RequestStats& stats, const jobs::ListQuery& query) override;
  asio::awaitable<jobs::CountResult> Count(obs::RequestStats& stats, const jobs::JobFilter& filter,
                                           bool estimated) override;
  asio::awaitable<void> Export(obs::RequestStats& stats, const jobs::JobFilter& filter,
                               jobs::SortOrder order, jobs::FieldSet fields, int chunk_rows,
                               const jobs::ExportSink& sink) override;
  asio::awaitable<void> Ping(obs::RequestStats& stats) override;

 private:
  SqliteDatabase& db_;
};

}  // namespace mljobs::store::sqlite

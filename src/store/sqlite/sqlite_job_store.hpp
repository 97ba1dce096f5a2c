// The SQLite implementation of jobs::JobStore. Its methods are coroutines on the caller's
// executor; every sqlite3 call runs on the store's own threads (one writer, `pool_size`
// readers), never on the caller's io thread. Callable from any executor.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jobs/job_store.hpp"
#include "store/sqlite/sqlite_connection.hpp"
#include "store/store_options.hpp"

namespace mljobs::store::sqlite {

namespace asio = boost::asio;

class SqliteJobStore final : public jobs::JobStore {
 public:
  // Opens nothing yet: each connection is opened on first use, so a file that cannot be
  // opened fails the call that needs it (Error(kUnavailable)), not the constructor.
  SqliteJobStore(std::string path, const StoreOptions& options);
  // Waits for calls in flight on the store's threads, then closes the connections.
  ~SqliteJobStore() override;

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
  // Runs fn(Connection&) on the writer thread / on a reader thread with a reader connection,
  // resuming the caller on its own executor with fn's result (or exception).
  template <typename Fn>
  auto OnWriter(Fn fn) -> asio::awaitable<std::invoke_result_t<Fn&, Connection&>>;
  template <typename Fn>
  auto OnReader(Fn fn) -> asio::awaitable<std::invoke_result_t<Fn&, Connection&>>;

  // Writer thread only.
  Connection& Writer();
  std::unique_ptr<Connection> AcquireReader();
  void ReleaseReader(std::unique_ptr<Connection> connection);

  const std::string path_;
  const StoreOptions options_;
  // One thread: writes are serialised here, each one transaction, so the writer never
  // waits on itself and readers (WAL) never wait on it.
  asio::thread_pool writer_thread_;
  asio::thread_pool reader_threads_;
  std::unique_ptr<Connection> writer_;  // touched only on writer_thread_

  std::mutex readers_mu_;
  // Idle reader connections; at most one per reader thread exists, since a call holds one
  // only while it runs on such a thread, without suspending.
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mu_
};

}  // namespace mljobs::store::sqlite

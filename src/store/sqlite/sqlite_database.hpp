// One SQLite database file and the threads that touch it: a writer thread with the one
// writer connection (writes are serialised, each one transaction) and `pool_size` reader
// threads with WAL reader connections, so reads never wait on the writer. Every store of
// the SQLite backend (jobs, queue, stats, ...) runs its sqlite3 calls through one of these.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "jobs/admin_store.hpp"
#include "jobs/work_notifier.hpp"
#include "obs/request_stats.hpp"
#include "store/sqlite/sqlite_connection.hpp"
#include "store/store_options.hpp"

namespace mljobs::store::sqlite {

namespace asio = boost::asio;

class SqliteDatabase {
 public:
  // Opens nothing yet: each connection is opened on first use, so a file that cannot be
  // opened fails the call that needs it (Error(kUnavailable)), not the constructor.
  SqliteDatabase(std::string path, const StoreOptions& options);
  // Waits for calls in flight on the threads, then closes the connections.
  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  const std::string& path() const { return path_; }

  // Signalled after jobs are inserted through this database (SqliteJobStore), so that
  // long-polling claims (SqliteQueueStore) wake without polling. Bounded to 1,000 waiters.
  jobs::WorkNotifier& new_jobs() { return new_jobs_; }

  // The reader connections as a pool, for health pages and metrics. Any thread.
  jobs::PoolStats ReaderStats() const;

  // Runs fn(Connection&) on the writer thread / on a reader thread with a reader
  // connection, resuming the caller on its own executor with fn's result (or exception).
  template <typename Fn>
  auto OnWriter(Fn fn) -> asio::awaitable<std::invoke_result_t<Fn&, Connection&>> {
    using Result = std::invoke_result_t<Fn&, Connection&>;
    co_return co_await asio::co_spawn(
        writer_thread_, [this, &fn]() -> asio::awaitable<Result> { co_return fn(Writer()); },
        asio::use_awaitable);
  }

  template <typename Fn>
  auto OnReader(Fn fn) -> asio::awaitable<std::invoke_result_t<Fn&, Connection&>> {
    using Result = std::invoke_result_t<Fn&, Connection&>;
    ++readers_waiting_;
    co_return co_await asio::co_spawn(
        reader_threads_,
        [this, &fn]() -> asio::awaitable<Result> {
          --readers_waiting_;
          // Back to the idle list even when fn throws: its statement was reset on the way out.
          struct Lease {
            SqliteDatabase& db;
            std::unique_ptr<Connection> connection;
            ~Lease() { db.ReleaseReader(std::move(connection)); }
          } lease{*this, AcquireReader()};
          co_return fn(*lease.connection);
        },
        asio::use_awaitable);
  }

 private:
  // Writer thread only.
  Connection& Writer();
  std::unique_ptr<Connection> AcquireReader();
  void ReleaseReader(std::unique_ptr<Connection> connection);

  const std::string path_;
  const StoreOptions options_;
  jobs::WorkNotifier new_jobs_;
  asio::thread_pool writer_thread_;
  asio::thread_pool reader_threads_;
  std::unique_ptr<Connection> writer_;  // touched only on writer_thread_

  mutable std::mutex readers_mu_;
  // Idle reader connections; at most one per reader thread exists, since a call holds one
  // only while it runs on such a thread, without suspending.
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mu_
  int readers_open_ = 0;                                   // guarded by readers_mu_
  int readers_in_use_ = 0;                                 // guarded by readers_mu_
  std::uint64_t readers_acquired_ = 0;                     // guarded by readers_mu_
  std::atomic<int> readers_waiting_{0};  // calls queued for a reader thread
};

// Times one statement from before its prepare to after its last row, and records it exactly
// once: with its row count when Done() is called, with none when it failed.
class StatementTimer {
 public:
  StatementTimer(obs::RequestStats& stats, std::string_view name)
      : stats_(stats), name_(name), start_(std::chrono::steady_clock::now()) {}
  ~StatementTimer() {
    if (!done_) Done(0);
  }
  StatementTimer(const StatementTimer&) = delete;
  StatementTimer& operator=(const StatementTimer&) = delete;

  void Done(std::int64_t rows) {
    done_ = true;
    stats_.RecordStatement(name_, std::chrono::steady_clock::now() - start_, rows);
  }

 private:
  obs::RequestStats& stats_;
  std::string_view name_;
  std::chrono::steady_clock::time_point start_;
  bool done_ = false;
};

}  // namespace mljobs::store::sqlite

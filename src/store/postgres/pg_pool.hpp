// PgPool: a bounded pool of PgConnections for one database URL. Thread-safe: Acquire
// may be called from coroutines on any thread of the executor; a Lease is used by one
// coroutine and hands its connection back when destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/postgres/pg_connection.hpp"
#include "store/store_options.hpp"

namespace mljobs::store::postgres {

// A snapshot of the pool for health pages and tests.
struct PgPoolStats {
  int size = 0;    // connections open or being opened
  int in_use = 0;  // leased (including ones being opened for a lease)
  int idle = 0;
  int waiting = 0;  // Acquire calls queued for a connection
  std::uint64_t acquired = 0;
  std::uint64_t timed_out = 0;  // Acquire gave up after acquire_timeout
  std::uint64_t recycled = 0;   // replaced for being older than recycle_after
  std::uint64_t discarded = 0;  // dropped as broken or left mid-statement
  std::uint64_t connect_failures = 0;
};

class PgPool {
 public:
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PgConnection* operator->() const { return conn_.get(); }
    PgConnection& operator*() const { return *conn_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  PgPool(std::string url, asio::any_io_executor ex, const StoreOptions& options);
  ~PgPool();

  // An idle connection that still looks alive and is younger than recycle_after, else a
  // new one while fewer than pool_size exist, else waits for a release. Throws
  // Error(kUnavailable) after acquire_timeout, or when a new connection cannot be made.
  asio::awaitable<Lease> Acquire();

  PgPoolStats Stats() const;
  // The libpq URI it connects to (for a connection of its own, such as LISTEN).
  const std::string& url() const { return url_; }

 private:
  struct Idle {
    std::unique_ptr<PgConnection> conn;
  };
  struct Waiter;

  // A connection back from a lease: to the longest waiting Acquire, to the idle list, or
  // closed (which frees a slot for a waiter to open a new one).
  void Release(std::unique_ptr<PgConnection> conn);
  // Called with mu_ held: gives a waiter `conn` (null: a free slot to connect on).
  bool HandToWaiter(std::unique_ptr<PgConnection>& conn);
  asio::awaitable<std::unique_ptr<PgConnection>> Open();

  const std::string url_;
  const asio::any_io_executor ex_;
  const StoreOptions options_;

  mutable std::mutex mu_;
  std::vector<Idle> idle_;  // guarded by mu_; most recently released last (warmest)
  std::deque<std::shared_ptr<Waiter>> waiters_;  // guarded by mu_; oldest first
  int size_ = 0;                                 // guarded by mu_
  int in_use_ = 0;                               // guarded by mu_
  PgPoolStats counters_;                         // guarded by mu_ (cumulative fields)
};

}  // namespace mljobs::store::postgres

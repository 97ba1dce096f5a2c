#include "store/sqlite/sqlite_database.hpp"

#include <algorithm>

namespace mljobs::store::sqlite {

SqliteDatabase::SqliteDatabase(std::string path, const StoreOptions& options)
    : path_(std::move(path)),
      options_(options),
      new_jobs_(options.max_claim_waiters),
      writer_thread_(1),
      reader_threads_(static_cast<std::size_t>(std::max(1, options.pool_size))) {}

SqliteDatabase::~SqliteDatabase() {
  reader_threads_.join();
  writer_thread_.join();
}

// acquire_timeout is the busy timeout: how long a statement waits for a lock another
// process holds before the call fails with kUnavailable.
Connection& SqliteDatabase::Writer() {
  if (!writer_) {
    writer_ = Connection::Open(path_, Connection::Role::kWriter, options_.acquire_timeout);
  }
  return *writer_;
}

std::unique_ptr<Connection> SqliteDatabase::AcquireReader() {
  {
    std::lock_guard lock(readers_mu_);
    ++readers_acquired_;
    ++readers_in_use_;
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return connection;
    }
  }
  std::unique_ptr<Connection> connection;
  try {
    connection = Connection::Open(path_, Connection::Role::kReader, options_.acquire_timeout);
  } catch (...) {
    std::lock_guard lock(readers_mu_);
    --readers_in_use_;
    throw;
  }
  std::lock_guard lock(readers_mu_);
  ++readers_open_;
  return connection;
}

void SqliteDatabase::ReleaseReader(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(readers_mu_);
  --readers_in_use_;
  idle_readers_.push_back(std::move(connection));
}

jobs::PoolStats SqliteDatabase::ReaderStats() const {
  std::lock_guard lock(readers_mu_);
  jobs::PoolStats out;
  out.size = readers_open_;
  out.in_use = readers_in_use_;
  out.idle = static_cast<int>(idle_readers_.size());
  out.waiting = std::max(0, readers_waiting_.load());
  out.acquired = readers_acquired_;
  return out;
}

}  // namespace mljobs::store::sqlite

#include "store/sqlite/sqlite_database.hpp"

#include <algorithm>

namespace mljobs::store::sqlite {

SqliteDatabase::SqliteDatabase(std::string path, const StoreOptions& options)
    : path_(std::move(path)),
      options_(options),
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
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return connection;
    }
  }
  return Connection::Open(path_, Connection::Role::kReader, options_.acquire_timeout);
}

void SqliteDatabase::ReleaseReader(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(std::move(connection));
}

}  // namespace mljobs::store::sqlite

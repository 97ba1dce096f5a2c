// Fresh databases for tests of either backend ("sqlite", "postgresql"), one per test and
// removed after it, and a gtest fixture holding a migrated JobStore on one. Backend-neutral:
// store, HTTP and CLI tests all use it. Call from the test's thread.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job_store.hpp"
#include "store/backend.hpp"
#include "store/store_options.hpp"
#include "support/run_sync.hpp"

namespace mljobs::testing {

inline constexpr std::string_view kSqliteBackend = "sqlite";
inline constexpr std::string_view kPostgresqlBackend = "postgresql";

// Why `backend` cannot be tested in this environment, or nullopt when it can. PostgreSQL
// needs MLJOBS_TEST_PG_URL (scripts/pg-sandbox sets it); when that is unset and
// MLJOBS_REQUIRE_PG=1, this also records a fatal test failure, so a required backend never
// passes as skipped and no test body runs after the SetUp that called it.
// Use (in SetUp or a test body):  if (auto why = BackendUnavailable(name)) GTEST_SKIP() << *why;
std::optional<std::string> BackendUnavailable(std::string_view backend);

// A new, empty (not migrated) database, removed on destruction. sqlite: `jobs.db` in a new
// temporary directory (the directory is removed, with -wal and -shm). postgresql: a database
// mljobs_t_<random> created on the MLJOBS_TEST_PG_URL server, dropped WITH (FORCE).
class TestDatabase {
 public:
  using Row = std::vector<std::optional<std::string>>;  // column values as text; NULL: nullopt

  // Throws std::runtime_error when the database cannot be created or the backend is
  // unavailable (check BackendUnavailable first to skip instead).
  explicit TestDatabase(std::string_view backend);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& backend() const { return backend_; }
  // What store::OpenBackend and `mljobs --db` take: "sqlite:/tmp/.../jobs.db" or
  // "postgresql://user@host:port/mljobs_t_...".
  const std::string& url() const { return url_; }
  // The SQLite file path; empty for postgresql.
  const std::string& sqlite_path() const { return sqlite_path_; }

  // Runs SQL on a connection of its own (sqlite3 or libpq, synchronous) and returns the rows
  // of its last statement: for EXPLAIN, or to put rows in states the API cannot (running,
  // completed). Throws std::runtime_error on an SQL error.
  std::vector<Row> Query(const std::string& sql) const;

 private:
  std::string backend_;
  std::string url_;
  std::string sqlite_path_;
  std::string sqlite_dir_;     // removed on destruction
  std::string pg_server_url_;  // where the database was created, to drop it from
  std::string pg_database_;
};

// A backend opened on a database URL, used through its job store (`store->Get(...)`).
class OpenedStore {
 public:
  OpenedStore() = default;
  explicit OpenedStore(std::unique_ptr<store::Backend> backend) : backend_(std::move(backend)) {}
  jobs::JobStore* operator->() const { return &backend_->jobs(); }
  jobs::JobStore& operator*() const { return backend_->jobs(); }
  store::Backend& backend() const { return *backend_; }
  void reset() { backend_.reset(); }

 private:
  std::unique_ptr<store::Backend> backend_;
};

// store::OpenBackend on `url` (not migrated).
OpenedStore OpenTestStore(const std::string& url, boost::asio::io_context& io,
                          const store::StoreOptions& options = {});

// A test per backend with a fresh database and a migrated store on it:
//   class MyTest : public StoreTest {};
//   TEST_P(MyTest, Works) { obs::RequestStats stats; Run(store().Ping(stats)); }
//   INSTANTIATE_TEST_SUITE_P(Backends, MyTest, ::testing::Values("sqlite", "postgresql"));
// SetUp skips (or fails, see BackendUnavailable) when the backend is not available.
class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  jobs::JobStore& store() { return *store_; }
  store::Backend& backend() { return store_.backend(); }
  TestDatabase& database() { return *database_; }
  boost::asio::io_context& io() { return io_; }
  // Another store on the same database (a second server process, say), not migrated again.
  OpenedStore OpenAnotherStore(const store::StoreOptions& options = {});

  template <typename T>
  T Run(boost::asio::awaitable<T> task) {
    return RunSync(io_, std::move(task));
  }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<TestDatabase> database_;
  OpenedStore store_;
};

}  // namespace mljobs::testing

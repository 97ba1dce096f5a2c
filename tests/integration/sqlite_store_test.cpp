// What only the SQLite backend promises: errors for a file it cannot use, its directory
// created, migrations recorded and safe to race, a busy writer lock reported as unavailable
// while reads go on (WAL), serialised concurrent writes, and how the estimate is computed.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "jobs/job_query.hpp"
#include "obs/request_stats.hpp"
#include "obs/statement_registry.hpp"
#include "store/open_store.hpp"
#include "store/sqlite/sqlite_migrations.hpp"
#include "support/test_backends.hpp"

namespace mljobs {
namespace {

namespace asio = boost::asio;
using testing::RunSync;

jobs::NewJob MakeJob(int n, std::string model = "model-a") {
  jobs::NewJob job;
  char uuid[37];
  std::snprintf(uuid, sizeof uuid, "01890000-0000-7000-8000-%012x", n);
  job.uuid = uuid;
  job.owner = "alice";
  job.model = std::move(model);
  job.input_text = "text";
  job.created_at = 1'700'000'000'000'000 + n;
  return job;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = std::make_unique<testing::TestDatabase>(testing::kSqliteBackend);
  }

  testing::OpenedStore Open(const std::string& path,
                                       const store::StoreOptions& options = {}) {
    return testing::OpenTestStore("sqlite:" + path, io_, options);
  }

  // A directory of the test's own, removed with the database.
  std::string Dir() const {
    return std::filesystem::path(database_->sqlite_path()).parent_path().string();
  }

  template <typename T>
  ErrorCode CodeOf(asio::awaitable<T> task) {
    try {
      RunSync(io_, std::move(task));
    } catch (const Error& e) {
      return e.code();
    }
    ADD_FAILURE() << "no error";
    return ErrorCode::kInternal;
  }

  asio::io_context io_;
  std::unique_ptr<testing::TestDatabase> database_;
};

TEST_F(SqliteStoreTest, AFileThatCannotBeOpenedFailsTheCallNotTheConstructor) {
  // The parent "directory" is a regular file.
  std::ofstream(Dir() + "/plain-file") << "x";
  testing::OpenedStore store = Open(Dir() + "/plain-file/jobs.db");
  obs::RequestStats stats;
  EXPECT_EQ(CodeOf(store->Migrate()), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeOf(store->Ping(stats)), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeOf(store->Get(stats, "01890000-0000-7000-8000-000000000001", std::nullopt)),
            ErrorCode::kUnavailable);
}

TEST_F(SqliteStoreTest, AFileThatIsNotADatabaseIsUnavailable) {
  std::ofstream(database_->sqlite_path()) << std::string(8192, 'g');
  testing::OpenedStore store = Open(database_->sqlite_path());
  obs::RequestStats stats;
  EXPECT_EQ(CodeOf(store->Migrate()), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeOf(store->Ping(stats)), ErrorCode::kUnavailable);
}

TEST_F(SqliteStoreTest, CreatesTheFilesDirectory) {
  const std::string path = Dir() + "/a/b/jobs.db";
  testing::OpenedStore store = Open(path);
  RunSync(io_, store->Migrate());
  obs::RequestStats stats;
  RunSync(io_, store->Ping(stats));
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST_F(SqliteStoreTest, MigrationsAreRecordedOnceEvenWhenTwoStoresRace) {
  testing::OpenedStore first = Open(database_->sqlite_path());
  testing::OpenedStore second = Open(database_->sqlite_path());
  int done = 0;
  std::vector<std::exception_ptr> errors;
  for (jobs::JobStore* store : {&*first, &*second}) {
    asio::co_spawn(io_, store->Migrate(), [&](std::exception_ptr e) {
      ++done;
      if (e) errors.push_back(e);
    });
  }
  io_.run();
  EXPECT_EQ(done, 2);
  for (const auto& e : errors) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& what) {
      ADD_FAILURE() << what.what();
    }
  }
  RunSync(io_, first->Migrate());  // and once more, with nothing to do

  auto rows = database_->Query("SELECT version, name FROM schema_migrations ORDER BY version");
  const auto migrations = store::sqlite::Migrations();
  ASSERT_EQ(rows.size(), migrations.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(*rows[i][0], std::to_string(migrations[i].version));
    EXPECT_EQ(*rows[i][1], migrations[i].name);
  }
  EXPECT_EQ(database_->Query("SELECT count(*) FROM mljobs_meta")[0][0], "1");
  EXPECT_EQ(database_->Query("PRAGMA journal_mode")[0][0], "wal");
}

TEST_F(SqliteStoreTest, ABusyWriterLockIsUnavailableWhileReadsGoOn) {
  store::StoreOptions options;
  options.acquire_timeout = std::chrono::milliseconds(50);
  testing::OpenedStore store = Open(database_->sqlite_path(), options);
  RunSync(io_, store->Migrate());
  obs::RequestStats stats;
  RunSync(io_, store->Insert(stats, MakeJob(1)));

  // Another process holds the write lock, with an uncommitted row.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(database_->sqlite_path().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE; UPDATE ml_jobs SET model = 'changed'; ", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);

  EXPECT_EQ(CodeOf(store->Insert(stats, MakeJob(2))), ErrorCode::kUnavailable);
  std::vector<jobs::NewJob> batch = {MakeJob(3), MakeJob(4)};
  EXPECT_EQ(CodeOf(store->InsertBatch(stats, batch)), ErrorCode::kUnavailable);
  // Readers see the last committed state, without waiting.
  auto job = RunSync(io_, store->Get(stats, MakeJob(1).uuid, std::nullopt));
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->model, "model-a");
  EXPECT_EQ(RunSync(io_, store->List(stats, jobs::ListQuery{})).jobs.size(), 1u);

  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  RunSync(io_, store->InsertBatch(stats, batch));
  EXPECT_EQ(RunSync(io_, store->Count(stats, {}, false)).total, 3);
}

TEST_F(SqliteStoreTest, ConcurrentWritesAreSerialisedAndAllLand) {
  testing::OpenedStore store = Open(database_->sqlite_path());
  RunSync(io_, store->Migrate());
  constexpr int kWriters = 200;
  int done = 0;
  std::vector<obs::RequestStats> stats(kWriters);
  std::vector<jobs::NewJob> jobs;  // outlive the coroutines, which hold references to them
  for (int n = 0; n < kWriters; ++n) jobs.push_back(MakeJob(n));
  for (int n = 0; n < kWriters; ++n) {
    asio::co_spawn(io_, store->Insert(stats[n], jobs[n]), [&](std::exception_ptr e, auto) {
      EXPECT_FALSE(e);
      ++done;
    });
  }
  io_.restart();  // Migrate ran it out of work
  io_.run();
  EXPECT_EQ(done, kWriters);
  obs::RequestStats count_stats;
  EXPECT_EQ(RunSync(io_, store->Count(count_stats, {}, false)).total, kWriters);
}

TEST_F(SqliteStoreTest, EstimateIsExactForASmallSpanAndSampledBeyond) {
  testing::OpenedStore store = Open(database_->sqlite_path());
  RunSync(io_, store->Migrate());
  std::vector<jobs::NewJob> jobs;
  for (int n = 0; n < 20'000; ++n) jobs.push_back(MakeJob(n, n % 4 == 0 ? "a" : "b"));
  obs::RequestStats stats;
  auto estimate = [&](const jobs::JobFilter& filter) {
    jobs::CountResult count = RunSync(io_, store->Count(stats, filter, true));
    EXPECT_TRUE(count.is_estimate);
    return count.total;
  };
  jobs::JobFilter by_model;
  by_model.model = "a";

  EXPECT_EQ(estimate({}), 0);
  // 1,000 rows: a span within the sample is read whole, so every estimate is exact.
  RunSync(io_, store->InsertBatch(stats, std::span(jobs).first(1000)));
  EXPECT_EQ(estimate({}), 1000);
  EXPECT_EQ(estimate(by_model), 250);

  RunSync(io_, store->InsertBatch(stats, std::span(jobs).subspan(1000)));
  // Every sampled id exists, so without a filter the sample says: all of the span.
  EXPECT_EQ(estimate({}), 20'000);
  // A quarter of the rows, sampled: 5,000 give or take; the bound is 8 standard errors
  // (sqrt(0.25 * 0.75 / 2000) * 20,000 = 194), so a false failure is beyond unlikely.
  const std::int64_t sampled = estimate(by_model);
  EXPECT_GT(sampled, 5000 - 8 * 194);
  EXPECT_LT(sampled, 5000 + 8 * 194);
  // A created_at range narrows the span to the range's ids: 1,500 of them, read whole.
  jobs::JobFilter range;
  range.created_after = jobs[5000].created_at;
  range.created_before = jobs[6500].created_at;
  EXPECT_EQ(estimate(range), 1500);
  range.model = "a";
  EXPECT_EQ(estimate(range), 375);
}

// metadata is a plain TEXT column; responses copy it unparsed, so the reader hands out only
// valid JSON text, and what another writer left that is not JSON reads as absent.
TEST_F(SqliteStoreTest, MetadataThatIsNotJsonReadsAsAbsent) {
  testing::OpenedStore store = Open(database_->sqlite_path());
  RunSync(io_, store->Migrate());
  obs::RequestStats stats;
  std::vector<jobs::NewJob> jobs;
  for (int n = 0; n < 4; ++n) jobs.push_back(MakeJob(n));
  RunSync(io_, store->InsertBatch(stats, jobs));
  database_->Query("UPDATE ml_jobs SET metadata = CASE job_uuid "
                   "WHEN '" + jobs[0].uuid + "' THEN '{\"k\": [1, \"é\"]} ' "
                   "WHEN '" + jobs[1].uuid + "' THEN '{\"k\":' "
                   "WHEN '" + jobs[2].uuid + "' THEN '{} trailing' "
                   "ELSE 'not json' END");
  auto metadata = [&](int n) {
    return RunSync(io_, store->Get(stats, jobs[n].uuid, std::nullopt))->metadata;
  };
  EXPECT_EQ(metadata(0), std::optional<std::string>("{\"k\": [1, \"é\"]} "));
  EXPECT_EQ(metadata(1), std::nullopt);
  EXPECT_EQ(metadata(2), std::nullopt);
  EXPECT_EQ(metadata(3), std::nullopt);
}

TEST_F(SqliteStoreTest, EveryStatementIsRecordedUnderItsName) {
  testing::OpenedStore store = Open(database_->sqlite_path());
  RunSync(io_, store->Migrate());
  const std::uint64_t batch_rows_before =
      obs::StatementRegistry::Global().Totals()["insert_jobs_batch"].rows;
  obs::RequestStats stats;
  RunSync(io_, store->Insert(stats, MakeJob(1)));
  std::vector<jobs::NewJob> batch = {MakeJob(2), MakeJob(3)};
  RunSync(io_, store->InsertBatch(stats, batch));
  RunSync(io_, store->Get(stats, MakeJob(1).uuid, std::nullopt));
  RunSync(io_, store->Cancel(stats, MakeJob(1).uuid, std::nullopt, 5));
  RunSync(io_, store->Cancel(stats, MakeJob(1).uuid, std::nullopt, 6));
  RunSync(io_, store->List(stats, jobs::ListQuery{}));
  RunSync(io_, store->Count(stats, {}, false));
  RunSync(io_, store->Count(stats, {}, true));
  RunSync(io_, store->ServerSecret(stats));
  RunSync(io_, store->Ping(stats));
  jobs::ExportSink sink = [](std::span<const jobs::Job>) -> asio::awaitable<bool> {
    co_return true;
  };
  RunSync(io_, store->Export(stats, {}, jobs::SortOrder::kDesc, jobs::FieldSet::Light(), 2, sink));
  // insert, batch, get, cancel, cancel + lookup, list, count, estimate, secret, ping,
  // two export chunks (2 + 1 rows).
  EXPECT_EQ(stats.statements(), 13);
  auto totals = obs::StatementRegistry::Global().Totals();
  for (const char* name :
       {"insert_job", "insert_jobs_batch", "get_job", "cancel_job", "cancel_job_lookup",
        "list_jobs", "count_jobs", "estimate_jobs", "server_secret", "ping", "export_jobs_chunk"}) {
    EXPECT_TRUE(totals.contains(name)) << name;
  }
  EXPECT_EQ(totals["insert_jobs_batch"].rows - batch_rows_before, 2u);
}

TEST_F(SqliteStoreTest, ManyListShapesStayCorrectBeyondTheStatementCache) {
  testing::OpenedStore store = Open(database_->sqlite_path());
  RunSync(io_, store->Migrate());
  std::vector<jobs::NewJob> jobs;
  for (int n = 0; n < 100; ++n) jobs.push_back(MakeJob(n, n % 2 == 0 ? "a" : "b"));
  obs::RequestStats stats;
  RunSync(io_, store->InsertBatch(stats, jobs));
  // 2 orders x 2 positions x 4 heavy-column sets x 8 filter sets = 128 shapes, twice.
  for (int round = 0; round < 2; ++round) {
    for (int shape = 0; shape < 128; ++shape) {
      jobs::ListQuery query;
      query.order = (shape & 1) != 0 ? jobs::SortOrder::kAsc : jobs::SortOrder::kDesc;
      if ((shape & 2) != 0) query.after = jobs::Position{jobs[50].created_at, 51};
      if ((shape & 4) != 0) query.fields = query.fields.With(jobs::Field::kInputText);
      if ((shape & 8) != 0) query.fields = query.fields.With(jobs::Field::kMetadata);
      if ((shape & 16) != 0) query.filter.model = "a";
      if ((shape & 32) != 0) query.filter.owner = "alice";
      if ((shape & 64) != 0) query.filter.created_after = jobs[10].created_at;
      query.limit = 1000;
      std::size_t expected = 0;
      for (int n = 0; n < 100; ++n) {
        if (query.filter.model && jobs[n].model != *query.filter.model) continue;
        if (query.filter.created_after && n < 10) continue;
        if (query.after && (query.order == jobs::SortOrder::kDesc ? n >= 50 : n <= 50)) continue;
        ++expected;
      }
      jobs::Page page = RunSync(io_, store->List(stats, query));
      EXPECT_EQ(page.jobs.size(), expected) << "shape " << shape;
      EXPECT_EQ(page.jobs.empty() ? false : page.jobs[0].input_text.has_value(),
                (shape & 4) != 0 && expected > 0);
    }
  }
}

}  // namespace
}  // namespace mljobs

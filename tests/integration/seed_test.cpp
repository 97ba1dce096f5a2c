// `mljobs seed` on both backends, real databases: exact row counts, the promised shape of
// the data (status mix, recency of pending jobs, text lengths, finished jobs' results),
// determinism for a seed, indexes dropped and rebuilt around a load into an empty table
// (and kept when it is not empty), and bad input changing nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli/seed_jobs.hpp"
#include "common/error.hpp"
#include "support/test_backends.hpp"

namespace mljobs {
namespace {

using jobs::Micros;

constexpr Micros kDay = 86'400'000'000;
// 2026-11-22T12:00:00Z: a fixed end of the seeded year, so runs compare byte for byte.
constexpr Micros kNow = 1'795'348'800'000'000;

class SeedTest : public testing::StoreTest {
 protected:
  cli::SeedResult Seed(store::Backend& backend, std::int64_t rows, std::uint64_t seed) {
    cli::SeedOptions options;
    options.rows = rows;
    options.seed = seed;
    options.now = kNow;
    return Run(cli::SeedJobs(backend, options, {}));
  }

  std::string Scalar(const testing::TestDatabase& db, const std::string& sql) {
    auto rows = db.Query(sql);
    EXPECT_EQ(rows.size(), 1u) << sql;
    return rows.empty() || rows[0].empty() || !rows[0][0] ? "" : *rows[0][0];
  }
  std::int64_t Count(const std::string& sql) { return std::stoll(Scalar(database(), sql)); }

  // A time as an SQL literal of the backend's created_at type.
  std::string TimeSql(Micros t) {
    if (GetParam() == "sqlite") return std::to_string(t);
    return "to_timestamp(" + std::to_string(t / 1'000'000) + ")";
  }

  std::vector<std::string> IndexNames(const testing::TestDatabase& db) {
    std::string sql = GetParam() == "sqlite"
                          ? "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                            "tbl_name = 'ml_jobs' AND sql IS NOT NULL ORDER BY name"
                          : "SELECT indexname FROM pg_indexes WHERE tablename = 'ml_jobs' "
                            "ORDER BY indexname";
    std::vector<std::string> names;
    for (auto& row : db.Query(sql)) names.push_back(*row[0]);
    return names;
  }

  std::string Plan(const std::string& query) {
    std::string prefix = GetParam() == "sqlite" ? "EXPLAIN QUERY PLAN " : "EXPLAIN ";
    std::string text;
    for (auto& row : database().Query(prefix + query)) {
      for (auto& value : row) text += value.value_or("") + " ";
    }
    return text;
  }

  // Every counter row (summed over shards), as text, in key order.
  std::vector<std::vector<std::optional<std::string>>> Counters() {
    return database().Query(
        "SELECT metric, status, model, hour, bucket, archive_month, sum(jobs), sum(micros) "
        "FROM ml_jobs_counters GROUP BY metric, status, model, hour, bucket, archive_month "
        "HAVING sum(jobs) <> 0 OR sum(micros) <> 0 "
        "ORDER BY metric, status, model, hour, bucket, archive_month");
  }

  // The counters the load wrote (its own tally) are exactly what recounting every row by
  // the SQL rules gives.
  void ExpectCountersEqualARebuild() {
    auto loaded = Counters();
    obs::RequestStats stats;
    Run(backend().stats().RebuildCounters(stats));
    auto rebuilt = Counters();
    EXPECT_GT(loaded.size(), 100u);
    EXPECT_EQ(loaded, rebuilt);
  }

  // PostgreSQL: the load queued exactly the pending jobs (ml_jobs_queue, migration 0009),
  // as the trigger it skipped would have.
  void ExpectQueueHoldsThePendingJobs() {
    if (GetParam() != "postgresql") return;
    auto queued = database().Query("SELECT count(*), coalesce(sum(job_id), 0) FROM ml_jobs_queue");
    auto pending = database().Query(
        "SELECT count(*), coalesce(sum(id), 0) FROM ml_jobs WHERE status = 'pending'");
    EXPECT_GT(std::stoll(*pending[0][0]), 0);
    EXPECT_EQ(queued, pending);
    EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs_queue q JOIN ml_jobs j ON j.id = q.job_id "
                    "WHERE j.status <> 'pending' OR (q.priority, q.created_at, q.run_after, "
                    "q.model) IS DISTINCT FROM (j.priority, j.created_at, j.run_after, j.model)"),
              0);
  }

  // Every seeded column of every row, in id order, hashed.
  std::size_t ContentHash(const testing::TestDatabase& db) {
    std::string all;
    for (auto& row : db.Query(
             "SELECT job_uuid, owner, model, input_text, status, priority, result_label, "
             "result_score, error, metadata, attempts, max_attempts, run_after, lease_token, "
             "lease_expires_at, worker, created_at, started_at, completed_at, updated_at "
             "FROM ml_jobs ORDER BY id")) {
      for (auto& value : row) all += value.value_or("NULL") + "|";
    }
    return std::hash<std::string>{}(all);
  }
};

TEST_P(SeedTest, LoadsExactlyTheRowsWithTheRealisticShape) {
  std::vector<std::string> indexes = IndexNames(database());
  ASSERT_GE(indexes.size(), 6u);

  cli::SeedResult result = Seed(backend(), 20'000, 42);

  EXPECT_EQ(result.rows, 20'000);
  EXPECT_TRUE(result.table_was_empty);
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs"), 20'000);
  // Every index is back (dropped for the load, rebuilt after it).
  EXPECT_EQ(IndexNames(database()), indexes);

  std::map<std::string, std::int64_t> by_status;
  for (auto& row : database().Query("SELECT status, count(*) FROM ml_jobs GROUP BY status")) {
    by_status[*row[0]] = std::stoll(*row[1]);
  }
  EXPECT_NEAR(by_status["completed"], 16'000, 400);
  EXPECT_NEAR(by_status["failed"], 1'000, 150);
  EXPECT_NEAR(by_status["cancelled"], 600, 120);
  EXPECT_NEAR(by_status["running"], 400, 100);
  EXPECT_NEAR(by_status["pending"], 2'000, 200);

  // Pending and running jobs are the newest: none among the oldest 84 % of ids, none older
  // than 120 days.
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs WHERE status IN ('pending', 'running') "
                  "AND id <= 16800"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs WHERE status = 'pending' AND created_at < " +
                  TimeSql(kNow - 120 * kDay)),
            0);
  // A year up to --now, ids in created_at order.
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs WHERE created_at < " +
                  TimeSql(kNow - 366 * kDay) + " OR created_at > " + TimeSql(kNow)),
            0);
  EXPECT_GT(Count("SELECT count(*) FROM ml_jobs WHERE created_at < " +
                  TimeSql(kNow - 300 * kDay)),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM (SELECT created_at, lag(created_at) OVER (ORDER BY id) "
                  "AS prev FROM ml_jobs) t WHERE created_at < prev"),
            0);

  EXPECT_EQ(Scalar(database(), "SELECT min(length(input_text)) FROM ml_jobs"), "50");
  EXPECT_EQ(Scalar(database(), "SELECT max(length(input_text)) FROM ml_jobs"), "300");
  EXPECT_EQ(Count("SELECT count(DISTINCT model) FROM ml_jobs"), 12);
  EXPECT_EQ(Count("SELECT count(DISTINCT owner) FROM ml_jobs"), 5);
  // Skewed popularity: the top model has several times the share of the last one.
  EXPECT_GT(Count("SELECT count(*) FROM ml_jobs WHERE model = 'sentiment-en-v3'"),
            5 * Count("SELECT count(*) FROM ml_jobs WHERE model = 'urgency-v1'"));

  // Finished jobs carry what finishing leaves; unfinished ones do not.
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs WHERE status = 'completed' AND ("
                  "result_label IS NULL OR result_score IS NULL OR started_at IS NULL OR "
                  "completed_at IS NULL OR completed_at < started_at OR started_at < created_at "
                  "OR error IS NOT NULL OR attempts < 1)"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs WHERE status = 'failed' AND ("
                  "error IS NULL OR completed_at IS NULL OR result_label IS NOT NULL)"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs WHERE status = 'pending' AND ("
                  "started_at IS NOT NULL OR completed_at IS NOT NULL OR attempts <> 0)"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs WHERE status = 'running' AND ("
                  "lease_token IS NULL OR lease_expires_at IS NULL OR worker IS NULL OR "
                  "started_at IS NULL OR completed_at IS NOT NULL)"),
            0);

  // The load counted its rows: they agree with GROUP BY, and with a full recount.
  EXPECT_EQ(database().Query("SELECT status, sum(jobs) FROM ml_jobs_counters WHERE metric = "
                             "'jobs' AND archive_month = 0 GROUP BY status HAVING sum(jobs) <> 0 "
                             "ORDER BY status"),
            database().Query("SELECT status, count(*) FROM ml_jobs GROUP BY status ORDER BY status"));
  EXPECT_EQ(Scalar(database(), "SELECT sum(jobs) FROM ml_jobs_counters WHERE metric = 'created'"),
            "20000");
  ExpectCountersEqualARebuild();
  ExpectQueueHoldsThePendingJobs();

  // Statistics were refreshed: the status filter's list uses its index.
  EXPECT_NE(Plan("SELECT id FROM ml_jobs WHERE status = 'failed' "
                 "ORDER BY created_at DESC, id DESC LIMIT 50")
                .find("ml_jobs_status_created_idx"),
            std::string::npos);
}

TEST_P(SeedTest, SameSeedSameRowsOtherSeedOtherRows) {
  Seed(backend(), 3'000, 7);
  testing::TestDatabase same(GetParam());
  testing::TestDatabase other(GetParam());
  {
    auto opened = testing::OpenTestStore(same.url(), io());
    Run(opened->Migrate());
    Seed(opened.backend(), 3'000, 7);
  }
  {
    auto opened = testing::OpenTestStore(other.url(), io());
    Run(opened->Migrate());
    Seed(opened.backend(), 3'000, 8);
  }
  EXPECT_EQ(ContentHash(database()), ContentHash(same));
  EXPECT_NE(ContentHash(database()), ContentHash(other));
}

TEST_P(SeedTest, IntoATableWithRowsKeepsThemAndItsIndexes) {
  std::vector<std::string> indexes = IndexNames(database());
  jobs::NewJob job;
  job.uuid = "01890000-0000-7000-8000-000000000001";
  job.owner = "alice";
  job.model = "m";
  job.input_text = "before the seed";
  job.created_at = kNow - kDay;
  obs::RequestStats stats;
  Run(store().Insert(stats, job));

  cli::SeedResult result = Seed(backend(), 2'000, 42);

  EXPECT_EQ(result.rows, 2'000);
  EXPECT_FALSE(result.table_was_empty);
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs"), 2'001);
  EXPECT_EQ(Scalar(database(), "SELECT input_text FROM ml_jobs WHERE id = 1"), "before the seed");
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs WHERE id > 1"), 2'000);
  // The job inserted before (counted by its trigger) and the seeded ones (the load's tally,
  // added to the counters already there) alike.
  EXPECT_EQ(Scalar(database(), "SELECT sum(jobs) FROM ml_jobs_counters WHERE metric = 'jobs'"),
            "2001");
  ExpectCountersEqualARebuild();
  ExpectQueueHoldsThePendingJobs();
  EXPECT_EQ(IndexNames(database()), indexes);
}

TEST_P(SeedTest, RowsOutOfRangeAreRejectedAndChangeNothing) {
  for (std::int64_t rows : {std::int64_t{0}, std::int64_t{-5}, cli::kMaxSeedRows + 1}) {
    try {
      Seed(backend(), rows, 42);
      ADD_FAILURE() << "rows " << rows << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("--rows"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs"), 0);
  // No load was left half started: a real one runs afterwards.
  EXPECT_EQ(Seed(backend(), 10, 42).rows, 10);
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs"), 10);
}

TEST_P(SeedTest, AFailedLoadLeavesTheTableAndItsIndexesAsTheyWere) {
  std::vector<std::string> indexes = IndexNames(database());
  // Two rows with one uuid: the unique index, rebuilt in Finish, refuses them.
  cli::SeedOptions options;
  options.rows = 2;
  options.now = kNow;
  std::vector<jobs::Job> rows(2);
  cli::SeedGenerator(options).Next(rows);
  rows[1].uuid = rows[0].uuid;
  obs::RequestStats stats;
  jobs::BulkLoadStore& loader = backend().bulk_load();
  EXPECT_TRUE(Run(loader.Begin(stats)));
  Run(loader.Append(stats, rows));
  try {
    Run(loader.Finish(stats, {}));
    ADD_FAILURE() << "duplicate uuids loaded";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::kConflict || e.code() == ErrorCode::kInvalidArgument)
        << e.what();
  }
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs"), 0);
  EXPECT_EQ(IndexNames(database()), indexes);
  // The loader is free again, and a good load goes through.
  EXPECT_EQ(Seed(backend(), 100, 42).rows, 100);
  EXPECT_EQ(Count("SELECT count(*) FROM ml_jobs"), 100);
}

INSTANTIATE_TEST_SUITE_P(Backends, SeedTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace mljobs

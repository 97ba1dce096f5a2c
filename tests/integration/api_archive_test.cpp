// Archival and retention end to end on both backends: POST /admin/archive-jobs moves
// exactly the old finished jobs, in batches, losing none and copying none (also under
// concurrent status changes); a second run moves nothing; POST /admin/purge-archive drops
// expired months (whole partitions on PostgreSQL) and batches the rest; counters follow;
// a second run of either while one is going is refused with 409.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <thread>

#include "jobs/archive_store.hpp"
#include "store/backend.hpp"
#include "support/api_server.hpp"
#include "support/run_sync.hpp"

namespace mljobs::testing {
namespace {

namespace json = boost::json;

class ApiArchiveTest : public ApiServerTest {
 protected:
  std::int64_t Int(const std::string& sql) { return std::stoll(*db_->Query(sql)[0][0]); }

  // `n` jobs with ids 1..n, created and finished `days` days ago with `status`, set-based.
  void InsertJobs(int n, const std::string& status, double days) {
    std::string finished = status == "pending" ? "NULL" : "t";
    if (pg()) {
      db_->Query("INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, run_after, "
                 "created_at, updated_at, started_at, completed_at) SELECT gen_random_uuid(), "
                 "'o', 'm' || (i % 3), 'x', '" + status + "', t, t, t, t, " + finished +
                 " FROM generate_series(1, " + std::to_string(n) + ") AS i, "
                 "LATERAL (SELECT now() - " + std::to_string(days) +
                 " * interval '1 day' + i * interval '1 millisecond' AS t) AS x");
    } else {
      db_->Query("WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < " +
                 std::to_string(n) + "), x AS (SELECT i, CAST((julianday('now') - 2440587.5) * "
                 "86400000000 AS INTEGER) - CAST(" + std::to_string(days) +
                 " * 86400000000 AS INTEGER) + i * 1000 AS t FROM g) "
                 "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, run_after, "
                 "created_at, updated_at, started_at, completed_at) SELECT "
                 "lower(printf('%s-%s-7%s-8%s-%s', hex(randomblob(4)), hex(randomblob(2)), "
                 "substr(hex(randomblob(2)), 2), substr(hex(randomblob(2)), 2), "
                 "hex(randomblob(6)))), 'o', 'm' || (i % 3), 'x', '" + status +
                 "', t, t, t, t, " + finished + " FROM x");
    }
  }

  // Every job id is in exactly one table, and together they are ids 1..n.
  void ExpectEachJobOnce(std::int64_t n) {
    EXPECT_EQ(Int("SELECT count(*) FROM (SELECT id FROM ml_jobs UNION ALL SELECT id FROM "
                  "ml_jobs_archive) AS a"), n);
    EXPECT_EQ(Int("SELECT count(DISTINCT id) FROM (SELECT id FROM ml_jobs UNION ALL SELECT id "
                  "FROM ml_jobs_archive) AS a"), n);
    EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs_archive WHERE id IN (SELECT id FROM ml_jobs)"), 0);
    EXPECT_EQ(Int("SELECT min(id) FROM (SELECT id FROM ml_jobs UNION ALL SELECT id FROM "
                  "ml_jobs_archive) AS a"), 1);
    EXPECT_EQ(Int("SELECT max(id) FROM (SELECT id FROM ml_jobs UNION ALL SELECT id FROM "
                  "ml_jobs_archive) AS a"), n);
  }
};

TEST_P(ApiArchiveTest, MovesOldFinishedJobsInBatchesAndASecondRunMovesNothing) {
  InsertJobs(250, "completed", 40);   // ids 1..250: archived
  InsertJobs(30, "failed", 31);       // 251..280: archived
  InsertJobs(20, "cancelled", 45);    // 281..300: archived
  InsertJobs(40, "completed", 29);    // 301..340: too recent
  InsertJobs(10, "pending", 40);      // 341..350: not finished
  HttpResult r = server_->Post("/admin/archive-jobs?days_old=30&batch_size=100", "");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value body = Json(r);
  EXPECT_EQ(body.at("archived"), 300);
  EXPECT_GE(body.at("batches").as_int64(), 4);  // 100, 100, 100, 0 (smaller if slow)
  EXPECT_TRUE(body.at("cutoff").is_string());
  EXPECT_GE(body.at("elapsed_ms").as_int64(), 0);
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs_archive"), 300);
  EXPECT_EQ(Int("SELECT max(id) FROM ml_jobs_archive"), 300);
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs_archive WHERE archived_at IS NULL"), 0);
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs"), 50);
  ExpectEachJobOnce(350);

  // GET /jobs/{id} still finds an archived job, in one statement, marked as archived.
  std::string archived_uuid = *db_->Query("SELECT job_uuid FROM ml_jobs_archive WHERE id = 7")[0][0];
  HttpResult got = server_->Get("/jobs/" + archived_uuid);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.Header("x-db-statements"), "1");
  EXPECT_EQ(Json(got).at("archived"), true);
  EXPECT_EQ(Json(got).at("status"), "completed");
  std::string live_uuid = *db_->Query("SELECT job_uuid FROM ml_jobs WHERE id = 345")[0][0];
  HttpResult live = server_->Get("/jobs/" + live_uuid);
  ASSERT_EQ(live.status, 200) << live.body;
  EXPECT_FALSE(Json(live).as_object().contains("archived"));

  HttpResult again = server_->Post("/admin/archive-jobs?days_old=30", "");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(again).at("archived"), 0);
  EXPECT_EQ(Json(again).at("batches"), 1);
  ExpectEachJobOnce(350);

  // The counters moved with the rows.
  json::value stats = Json(server_->Get("/jobs/stats"));
  EXPECT_EQ(stats.at("total"), 50);
  EXPECT_EQ(stats.at("by_status").at("completed"), 40);
  EXPECT_EQ(stats.at("archived"),
            json::parse(R"({"total": 300, "by_status": {"pending": 0, "running": 0,
                            "completed": 250, "failed": 30, "cancelled": 20}})"));
  if (pg()) {  // the batch's months got partitions
    EXPECT_GE(Int("SELECT count(*) FROM pg_inherits WHERE inhparent = "
                  "'ml_jobs_archive'::regclass"), 1);
  }
}

TEST_P(ApiArchiveTest, ConcurrentStatusChangesLoseNothing) {
  InsertJobs(3000, "completed", 40);
  std::thread archiver([&] {
    HttpResult r = server_->Post("/admin/archive-jobs?days_old=30&batch_size=50", "");
    EXPECT_EQ(r.status, 200) << r.body;
  });
  // Meanwhile a worker retries jobs (completed -> pending), newest first so that some are
  // still live when it gets to them.
  std::set<std::string> retried;
  for (int i = 0; i < 30; ++i) {
    int hi = 3000 - i * 100;
    auto rows = db_->Query("UPDATE ml_jobs SET status = 'pending', completed_at = NULL "
                           "WHERE id > " + std::to_string(hi - 100) + " AND id <= " +
                           std::to_string(hi) + " AND id % 3 = 0 RETURNING id");
    for (const auto& row : rows) retried.insert(*row[0]);
  }
  archiver.join();
  ExpectEachJobOnce(3000);
  // Every retry that happened is live and pending; nothing pending reached the archive.
  for (const auto& id : retried) {
    EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs WHERE status = 'pending' AND id = " + id), 1)
        << id;
  }
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs_archive WHERE status <> 'completed'"), 0);
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs WHERE status = 'pending'"),
            static_cast<std::int64_t>(retried.size()));
  // The rest is archived by a second run.
  HttpResult r = server_->Post("/admin/archive-jobs?days_old=30", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs"), static_cast<std::int64_t>(retried.size()));
  ExpectEachJobOnce(3000);
}

TEST_P(ApiArchiveTest, PurgeDropsExpiredMonthsAndBatchesTheRest) {
  InsertJobs(100, "completed", 400);  // ids 1..100: a month wholly past a 365-day cutoff
  InsertJobs(60, "failed", 40);       // 101..160
  InsertJobs(40, "completed", 36);    // 161..200
  ASSERT_EQ(Json(server_->Post("/admin/archive-jobs?days_old=30", "")).at("archived"), 200);

  HttpResult r = server_->Post("/admin/purge-archive?days_old=365&batch_size=7", "");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value body = Json(r);
  EXPECT_EQ(body.at("purged"), 100);
  if (pg()) {
    std::string month = *db_->Query(
        "SELECT to_char((now() - interval '400 days') AT TIME ZONE 'UTC', 'YYYYMM')")[0][0];
    EXPECT_EQ(body.at("partitions_dropped"), json::array{json::value("ml_jobs_archive_" + month)});
    EXPECT_EQ(Int("SELECT count(*) FROM pg_class WHERE relname = 'ml_jobs_archive_" + month +
                  "'"), 0);
  } else {
    EXPECT_EQ(body.at("partitions_dropped"), json::array{});
    EXPECT_GE(body.at("batches").as_int64(), 15);  // 100 rows, at most 7 per batch
  }
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs_archive"), 100);
  EXPECT_EQ(Int("SELECT min(id) FROM ml_jobs_archive"), 101);

  // Inside a month: row batches only.
  HttpResult rest = server_->Post("/admin/purge-archive?days_old=38&batch_size=7", "");
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(Json(rest).at("purged"), 60);
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs_archive"), 40);
  EXPECT_EQ(Int("SELECT min(id) FROM ml_jobs_archive"), 161);

  json::value stats = Json(server_->Get("/jobs/stats"));
  EXPECT_EQ(stats.at("archived").at("total"), 40);
  EXPECT_EQ(stats.at("archived").at("by_status").at("completed"), 40);
  EXPECT_EQ(stats.at("archived").at("by_status").at("failed"), 0);
}

TEST_P(ApiArchiveTest, BadParametersAre400sAndMoveNothing) {
  InsertJobs(10, "completed", 40);
  for (std::string target :
       {"/admin/archive-jobs?days_old=0", "/admin/archive-jobs?days_old=36501",
        "/admin/archive-jobs?days_old=x", "/admin/archive-jobs?batch_size=0",
        "/admin/archive-jobs?batch_size=10001", "/admin/archive-jobs?days=30",
        "/admin/archive-jobs?days_old=30&days_old=31", "/admin/purge-archive?days_old=-1",
        "/admin/purge-archive?batch_size=99999"}) {
    HttpResult r = server_->Post(target, "");
    EXPECT_EQ(r.status, 400) << target << " -> " << r.body;
    std::string param = target.substr(target.find('?') + 1);
    param = param.substr(0, param.find('='));
    EXPECT_NE(r.body.find(param), std::string::npos) << target << " -> " << r.body;
    EXPECT_EQ(r.Header("x-db-statements"), "0") << target;
  }
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs"), 10);
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs_archive"), 0);
}

TEST_P(ApiArchiveTest, ASecondArchiveWhileOneRunsIsRefused) {
  InsertJobs(3000, "completed", 40);
  std::thread first([&] {  // batches of one row: a run of thousands of statements
    // 3-5 s alone, more beside other tests: a longer wait than Post's default.
    HttpConnection connection(server_->port(), std::chrono::seconds(120));
    HttpResult r = connection.Send("POST", "/admin/archive-jobs?days_old=30&batch_size=1");
    EXPECT_EQ(r.status, 200) << r.body;
  });
  for (int i = 0; i < 500 && Int("SELECT count(*) FROM ml_jobs_archive") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  HttpResult second = server_->Post("/admin/archive-jobs?days_old=30", "");
  const bool overlapped = Int("SELECT count(*) FROM ml_jobs_archive") < 3000;
  first.join();
  ASSERT_TRUE(overlapped) << "the first run ended before the second was asked";
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(Json(second).at("error").at("code"), "archive_running");
  ExpectEachJobOnce(3000);
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs_archive"), 3000);  // all by the first run
  // The lock went with the first run: the next one is served at once.
  HttpResult next = server_->Post("/admin/archive-jobs?days_old=30", "");
  EXPECT_EQ(next.status, 200) << next.body;
}

// The lock as another process (a CLI run, another server) holds it: through a store of its
// own on the same database. Each kind excludes only itself.
TEST_P(ApiArchiveTest, RunsLockedElsewhereAreRefusedUntilReleased) {
  InsertJobs(10, "completed", 400);
  boost::asio::io_context io;
  OpenedStore other = OpenTestStore(db_->url(), io);
  jobs::ArchiveStore& archive = other.backend().archive();
  obs::RequestStats stats;
  const std::string archive_target = "/admin/archive-jobs?days_old=30";
  const std::string purge_target = "/admin/purge-archive?days_old=365";
  struct Case {
    jobs::ArchiveRun run;
    std::string locked, free, code;
  };
  for (const Case& c : {Case{jobs::ArchiveRun::kArchive, archive_target, purge_target, "archive_running"},
                        Case{jobs::ArchiveRun::kPurge, purge_target, archive_target, "purge_running"}}) {
    SCOPED_TRACE(c.code);
    std::unique_ptr<jobs::RunLock> lock = RunSync(io, archive.TryLockRun(stats, c.run));
    ASSERT_TRUE(lock);
    EXPECT_FALSE(RunSync(io, archive.TryLockRun(stats, c.run)));  // in one process too
    HttpResult refused = server_->Post(c.locked, "");
    EXPECT_EQ(refused.status, 409) << refused.body;
    EXPECT_EQ(Json(refused).at("error").at("code"), json::value(c.code));
    EXPECT_EQ(server_->Post(c.free, "").status, 200);
    RunSync(io, lock->Release());
    HttpResult served = server_->Post(c.locked, "");
    EXPECT_EQ(served.status, 200) << served.body;
  }
  // Archived once the archive lock was free, then purged once the purge lock was.
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs"), 0);
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs_archive"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiArchiveTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace mljobs::testing

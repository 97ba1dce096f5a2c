// GET /jobs and GET /jobs/export with include_archived=true on both backends: live and
// archived jobs in one keyset order, each exactly once in both directions, under every
// filter, one statement per page, archived ones marked; counts of both tables; a user
// sees only their own; a cursor is bound to its include_archived value.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <algorithm>
#include <sstream>

#include "support/api_server.hpp"
#include "support/test_tokens.hpp"

namespace mljobs::testing {
namespace {

namespace json = boost::json;

constexpr int kJobs = 600;

class ApiListArchivedTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (auto why = BackendUnavailable(GetParam())) GTEST_SKIP() << *why;
    db_ = std::make_unique<TestDatabase>(GetParam());
    server_ = std::make_unique<ApiServer>(*db_, cli::AppOptions{}, ApiServer::Auth::kOn);
    admin_ = CreateTestToken(*db_, "admin-test", jobs::Role::kAdmin);
    InsertJobs();
    HttpResult r = Call("/admin/archive-jobs?days_old=30", admin_, "POST");
    ASSERT_EQ(r.status, 200) << r.body;
    archived_ = Json(r).at("archived").as_int64();
    ASSERT_GT(archived_, 100);
    ASSERT_LT(archived_, kJobs - 100);
  }
  bool pg() const { return GetParam() == kPostgresqlBackend; }

  HttpResult Call(const std::string& target, const std::string& token,
                  const std::string& method = "GET") {
    return Send(server_->port(), method, target, "", Bearer(token));
  }

  // Jobs 1..kJobs created two per second 60 days ago (ties in created_at), owners alice,
  // bob and carol, models m0..m3, statuses in turn; half of the finished ones (blocks of
  // five) finished 40 days ago, so the archive run takes them, the others yesterday.
  void InsertJobs() {
    const std::string n = std::to_string(kJobs);
    const std::string columns =
        "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, run_after, created_at, "
        "updated_at, started_at, completed_at) ";
    const std::string values =
        "(CASE i % 3 WHEN 0 THEN 'alice' WHEN 1 THEN 'bob' ELSE 'carol' END), 'm' || (i % 4), "
        "'x', s, c, c, c, c, CASE WHEN s IN ('pending', 'running') THEN NULL "
        "WHEN (i / 5) % 2 = 0 THEN old ELSE recent END";
    const std::string status =
        "CASE i % 5 WHEN 0 THEN 'pending' WHEN 1 THEN 'running' WHEN 2 THEN 'completed' "
        "WHEN 3 THEN 'failed' ELSE 'cancelled' END";
    if (pg()) {
      db_->Query(columns + "SELECT gen_random_uuid(), " + values +
                 " FROM generate_series(1, " + n + ") AS i, LATERAL (SELECT " + status +
                 " AS s, now() - interval '60 days' + (i / 2) * interval '1 second' AS c, "
                 "now() - interval '40 days' AS old, now() - interval '1 day' AS recent) AS x");
    } else {
      db_->Query("WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < " + n +
                 "), x AS (SELECT i, " + status +
                 " AS s, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) AS now_us "
                 "FROM g), y AS (SELECT i, s, now_us - 60 * 86400000000 + (i / 2) * 1000000 AS c, "
                 "now_us - 40 * 86400000000 AS old, now_us - 86400000000 AS recent FROM x) " +
                 columns + "SELECT lower(printf('%s-%s-7%s-8%s-%s', hex(randomblob(4)), "
                 "hex(randomblob(2)), substr(hex(randomblob(2)), 2), substr(hex(randomblob(2)), "
                 "2), hex(randomblob(6)))), " + values + " FROM y");
    }
  }

  // (job uuid, archived) of both tables for `where`, in `order`: the truth a walk must give.
  std::vector<std::pair<std::string, bool>> Expected(const std::string& where,
                                                     const std::string& order) {
    const std::string uuid = pg() ? "job_uuid::text" : "job_uuid";
    const std::string cols = uuid + " AS u, owner, model, status, created_at, id";
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& row : db_->Query(
             "SELECT u, a FROM (SELECT " + cols + ", 0 AS a FROM ml_jobs UNION ALL SELECT " + cols +
             ", 1 AS a FROM ml_jobs_archive) AS t " + where + " ORDER BY created_at " + order +
             ", id " + order)) {
      out.emplace_back(*row[0], *row[1] == "1");
    }
    return out;
  }

  // Every page of GET /jobs?include_archived=true&<query>, each one statement.
  std::vector<std::pair<std::string, bool>> Walk(const std::string& query,
                                                 const std::string& token) {
    std::vector<std::pair<std::string, bool>> seen;
    std::string cursor;
    for (int pages = 0; pages < 1000; ++pages) {
      std::string target = "/jobs?include_archived=true&limit=37&fields=id" +
                           (query.empty() ? "" : "&" + query) +
                           (cursor.empty() ? "" : "&cursor=" + cursor);
      HttpResult r = Call(target, token);
      EXPECT_EQ(r.status, 200) << target << " -> " << r.body;
      if (r.status != 200) break;
      EXPECT_EQ(r.Header("x-db-statements"), "1") << target;
      json::value page = Json(r);
      for (const auto& job : page.at("jobs").as_array()) {
        const json::object& o = job.as_object();
        seen.emplace_back(std::string(o.at("id").as_string()), o.contains("archived"));
        if (o.contains("archived")) {
          EXPECT_EQ(o.at("archived"), true);
        }
      }
      if (!page.at("has_more").as_bool()) break;
      cursor = std::string(page.at("next_cursor").as_string());
    }
    return seen;
  }

  std::string CreatedAtOfJob(int id) {
    std::string uuid = *db_->Query(
        "SELECT job_uuid FROM ml_jobs WHERE id = " + std::to_string(id) +
        " UNION ALL SELECT job_uuid FROM ml_jobs_archive WHERE id = " + std::to_string(id))[0][0];
    return std::string(Json(Call("/jobs/" + uuid, admin_)).at("created_at").as_string());
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<ApiServer> server_;
  std::string admin_;
  std::int64_t archived_ = 0;
};

TEST_P(ApiListArchivedTest, PagesMergeBothTablesExactlyOnceInBothDirectionsUnderEveryFilter) {
  const std::string after = CreatedAtOfJob(101);
  const std::string before = CreatedAtOfJob(451);
  const std::string created =
      "created_at >= (SELECT created_at FROM (SELECT created_at, id FROM ml_jobs UNION ALL "
      "SELECT created_at, id FROM ml_jobs_archive) AS r WHERE id = ";
  const std::vector<std::pair<std::string, std::string>> filters = {
      {"", ""},
      {"status=completed", "WHERE status = 'completed'"},
      {"status=pending,failed,cancelled", "WHERE status IN ('pending', 'failed', 'cancelled')"},
      {"model=m1", "WHERE model = 'm1'"},
      {"status=completed,failed&model=m2", "WHERE status IN ('completed', 'failed') AND model = 'm2'"},
      {"created_after=" + UrlEncode(after) + "&created_before=" + UrlEncode(before),
       "WHERE " + created + "101) AND NOT " + created + "451)"},
  };
  for (const auto& [query, where] : filters) {
    for (std::string order : {"desc", "asc"}) {
      SCOPED_TRACE(query + " " + order);
      auto expected = Expected(where, order);
      auto seen = Walk(query + (query.empty() ? "" : "&") + "order=" + order, admin_);
      EXPECT_EQ(seen, expected);
      std::size_t archived = 0;
      for (const auto& job : seen) archived += job.second;
      EXPECT_GT(archived, 0u);  // the walk really crossed archived jobs
    }
  }
  // Without the option the list is the live table only.
  std::size_t live = 0;
  for (const auto& job : Expected("", "desc")) live += !job.second;
  HttpResult r = Call("/jobs?limit=1000&fields=id", admin_);
  EXPECT_EQ(Json(r).at("jobs").as_array().size(), live);
  EXPECT_EQ(static_cast<std::int64_t>(live), kJobs - archived_);
}

TEST_P(ApiListArchivedTest, CountsCoverBothTables) {
  HttpResult exact = Call("/jobs?include_archived=true&status=completed,failed&count=exact", admin_);
  ASSERT_EQ(exact.status, 200) << exact.body;
  EXPECT_EQ(exact.Header("x-db-statements"), "2");  // the page and the count
  EXPECT_EQ(Json(exact).at("total").as_int64(),
            static_cast<std::int64_t>(Expected("WHERE status IN ('completed', 'failed')", "desc").size()));
  EXPECT_EQ(Json(exact).at("total_is_estimate"), false);
  EXPECT_EQ(Json(Call("/jobs?include_archived=true&count=exact", admin_)).at("total"), kJobs);
  EXPECT_EQ(Json(Call("/jobs?count=exact", admin_)).at("total"), kJobs - archived_);

  db_->Query("ANALYZE");
  HttpResult estimated = Call("/jobs?include_archived=true&count=estimated", admin_);
  ASSERT_EQ(estimated.status, 200) << estimated.body;
  EXPECT_EQ(Json(estimated).at("total_is_estimate"), true);
  const std::int64_t total = Json(estimated).at("total").as_int64();
  if (pg()) {  // the planner's figure for both tables after ANALYZE
    EXPECT_GE(total, kJobs / 2);
    EXPECT_LE(total, kJobs * 2);
  } else {  // an id span under the sample size is read whole: exact
    EXPECT_EQ(total, kJobs);
  }
}

TEST_P(ApiListArchivedTest, ExportStreamsBothTablesInOrder) {
  for (std::string order : {"desc", "asc"}) {
    HttpResult r = Call("/jobs/export?include_archived=true&fields=id&status=completed,cancelled"
                        "&order=" + order, admin_);
    ASSERT_EQ(r.status, 200) << r.body;
    std::vector<std::pair<std::string, bool>> seen;
    std::istringstream lines(r.body);
    for (std::string line; std::getline(lines, line);) {
      json::object o = json::parse(line).as_object();
      seen.emplace_back(std::string(o.at("id").as_string()), o.contains("archived"));
    }
    EXPECT_EQ(seen, Expected("WHERE status IN ('completed', 'cancelled')", order)) << order;
  }
}

TEST_P(ApiListArchivedTest, AUserSeesOnlyTheirOwnJobsFromBothTables) {
  const std::string alice = CreateTestToken(*db_, "alice", jobs::Role::kUser);
  ASSERT_EQ(Call("/jobs?limit=1", alice).status, 200);  // the token is looked up once
  EXPECT_EQ(Walk("", alice), Expected("WHERE owner = 'alice'", "desc"));
  EXPECT_EQ(Walk("model=m3&order=asc", alice),
            Expected("WHERE owner = 'alice' AND model = 'm3'", "asc"));
  HttpResult exported = Call("/jobs/export?include_archived=true&fields=id", alice);
  ASSERT_EQ(exported.status, 200);
  EXPECT_EQ(static_cast<std::size_t>(std::count(exported.body.begin(), exported.body.end(), '\n')),
            Expected("WHERE owner = 'alice'", "desc").size());
  HttpResult counted = Call("/jobs?include_archived=true&count=exact&limit=1", alice);
  EXPECT_EQ(Json(counted).at("total").as_int64(),
            static_cast<std::int64_t>(Expected("WHERE owner = 'alice'", "desc").size()));
}

TEST_P(ApiListArchivedTest, ACursorIsBoundToItsIncludeArchivedValue) {
  std::string with(Json(Call("/jobs?include_archived=true&limit=5", admin_)).at("next_cursor").as_string());
  std::string without(Json(Call("/jobs?limit=5", admin_)).at("next_cursor").as_string());
  EXPECT_EQ(Call("/jobs?include_archived=true&limit=5&cursor=" + with, admin_).status, 200);
  EXPECT_EQ(Call("/jobs?include_archived=false&limit=5&cursor=" + without, admin_).status, 200);
  for (std::string target : {"/jobs?limit=5&cursor=" + with,
                             "/jobs?include_archived=false&limit=5&cursor=" + with,
                             "/jobs?include_archived=true&limit=5&cursor=" + without}) {
    HttpResult r = Call(target, admin_);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(Json(r).at("error").at("code"), "invalid_cursor") << target;
    EXPECT_EQ(r.Header("x-db-statements"), "0") << target;
  }
  for (std::string target : {"/jobs?include_archived=yes", "/jobs?include_archived=",
                             "/jobs/export?include_archived=1",
                             "/jobs?include_archived=true&include_archived=true"}) {
    HttpResult r = Call(target, admin_);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_NE(r.body.find("include_archived"), std::string::npos) << target << " -> " << r.body;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiListArchivedTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace mljobs::testing

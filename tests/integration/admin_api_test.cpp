// The operator's view over HTTP on each backend: /admin/db-health's shape (tables, indexes,
// pool), /admin/explain using the intended indexes on a few thousand analysed rows, the
// bounded slow query ring, and /metrics in Prometheus text format.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <sstream>

#include "obs/statement_registry.hpp"
#include "support/api_server.hpp"
#include "support/test_tokens.hpp"

namespace mljobs::testing {
namespace {

namespace json = boost::json;

class AdminApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (auto why = BackendUnavailable(GetParam())) GTEST_SKIP() << *why;
    db_ = std::make_unique<TestDatabase>(GetParam());
  }
  void TearDown() override {
    server_.reset();
    db_.reset();
  }

  void Start(cli::AppOptions options = {}) {
    server_ = std::make_unique<ApiServer>(*db_, std::move(options), ApiServer::Auth::kOn);
    token_ = CreateTestToken(*db_, "ops", jobs::Role::kAdmin);
  }

  HttpResult Get(const std::string& target) {
    return Send(server_->port(), "GET", target, "", Bearer(token_));
  }

  void SubmitBatch(int n) {
    json::array jobs;
    for (int i = 0; i < n; ++i) {
      jobs.push_back(json::object{{"model", "m" + std::to_string(i % 3)},
                                  {"input_text", "text " + std::to_string(i)}});
    }
    HttpResult r = Send(server_->port(), "POST", "/jobs/batch",
                        json::serialize(json::object{{"jobs", jobs}}),
                        {{"Authorization", "Bearer " + token_},
                         {"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 201) << r.body;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<ApiServer> server_;
  std::string token_;
};

const json::object* Named(const json::array& list, std::string_view name) {
  for (const json::value& v : list) {
    if (v.at("name").as_string() == name) return &v.as_object();
  }
  return nullptr;
}

TEST_P(AdminApiTest, DbHealthShowsTablesIndexesPoolAndSlowQueries) {
  Start();
  SubmitBatch(10);
  HttpResult r = Get("/admin/db-health");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object health = Json(r).as_object();
  EXPECT_EQ(health.at("backend").as_string(), GetParam());

  const json::object* jobs = Named(health.at("tables").as_array(), "ml_jobs");
  ASSERT_NE(jobs, nullptr) << r.body;
  EXPECT_GT(jobs->at("heap_bytes").as_int64(), 0);
  EXPECT_GT(jobs->at("index_bytes").as_int64(), 0);
  EXPECT_EQ(jobs->at("total_bytes").as_int64(),
            GetParam() == "sqlite"
                ? jobs->at("heap_bytes").as_int64() + jobs->at("index_bytes").as_int64()
                : jobs->at("total_bytes").as_int64());
  EXPECT_GE(jobs->at("total_bytes").as_int64(), jobs->at("heap_bytes").as_int64());
  EXPECT_TRUE(jobs->contains("row_estimate"));
  ASSERT_NE(Named(health.at("tables").as_array(), "mljobs_tokens"), nullptr);

  const json::object* created = Named(health.at("indexes").as_array(), "ml_jobs_created_idx");
  ASSERT_NE(created, nullptr) << r.body;
  EXPECT_EQ(created->at("table").as_string(), "ml_jobs");
  EXPECT_GT(created->at("size_bytes").as_int64(), 0);
  for (const char* key : {"scans", "tuples_read", "unused"}) EXPECT_TRUE(created->contains(key));

  const json::object& pool = health.at("pool").as_object();
  for (const char* key : {"size", "in_use", "idle", "waiting", "acquired", "timed_out", "recycled"}) {
    EXPECT_TRUE(pool.contains(key)) << key;
  }
  EXPECT_GE(pool.at("size").as_int64(), 1);
  EXPECT_GE(pool.at("acquired").as_int64(), 1);
  EXPECT_TRUE(health.at("slow_queries").is_array());
  EXPECT_EQ(health.at("slow_query_threshold_ms").as_int64(), 100);

  if (GetParam() == "postgresql") {
    for (const char* key : {"dead_tuples", "last_autovacuum", "last_autoanalyze"}) {
      EXPECT_TRUE(jobs->contains(key)) << key;
    }
    // The job_uuid index backs a unique constraint: never flagged unused.
    const json::object* uuid = Named(health.at("indexes").as_array(), "ml_jobs_job_uuid_key");
    ASSERT_NE(uuid, nullptr);
    EXPECT_FALSE(uuid->at("unused").as_bool());
    EXPECT_TRUE(created->at("scans").is_int64());
  } else {
    const json::object& file = health.at("file").as_object();
    EXPECT_EQ(file.at("page_size").as_int64(), 4096);
    EXPECT_GT(file.at("page_count").as_int64(), 0);
    EXPECT_GT(file.at("wal_bytes").as_int64(), 0);  // WAL mode: the batch is in the WAL
  }
}

TEST_P(AdminApiTest, ExplainUsesTheIntendedIndexForEachListQuery) {
  Start();
  for (int i = 0; i < 4; ++i) SubmitBatch(1000);
  db_->Query("UPDATE ml_jobs SET status = 'completed' WHERE id % 10 <> 0");
  db_->Query("ANALYZE");
  const std::map<std::string, std::string> index = {
      {"first_page", "ml_jobs_created_idx"},
      {"deep_page", "ml_jobs_created_idx"},
      {"pending", "ml_jobs_status_created_idx"},
      {"date_range", "ml_jobs_created_idx"}};
  for (const auto& [query, index_name] : index) {
    HttpResult r = Get("/admin/explain?query=" + query);
    ASSERT_EQ(r.status, 200) << query << ": " << r.body;
    json::object out = Json(r).as_object();
    EXPECT_EQ(out.at("query").as_string(), query);
    const json::object& summary = out.at("summary").as_object();
    EXPECT_TRUE(summary.at("uses_index").as_bool()) << query << ": " << r.body;
    EXPECT_TRUE(summary.at("seq_scans").as_array().empty()) << query << ": " << r.body;
    EXPECT_GE(summary.at("execution_ms").to_number<double>(), 0.0);
    EXPECT_NE(json::serialize(out.at("plan")).find(index_name), std::string::npos)
        << query << ": " << json::serialize(out.at("plan"));
    EXPECT_TRUE(out.at("sql").as_string().starts_with("SELECT")) << query;
    if (GetParam() == "postgresql") {
      EXPECT_TRUE(out.at("plan").is_array());  // EXPLAIN (FORMAT JSON)
      EXPECT_TRUE(out.at("statement").as_string().starts_with("list")) << out.at("statement");
    } else {
      EXPECT_EQ(out.at("statement").as_string(), "list_jobs");
    }
  }
}

TEST_P(AdminApiTest, ExplainClaimUsesThePendingIndexAndClaimsNothing) {
  Start();
  for (int i = 0; i < 2; ++i) SubmitBatch(1000);
  db_->Query("UPDATE ml_jobs SET status = 'completed' WHERE id % 10 <> 0");
  db_->Query("ANALYZE");
  const std::string pending = "SELECT count(*) FROM ml_jobs WHERE status = 'pending'";
  const auto before = db_->Query(pending)[0][0];
  HttpResult r = Get("/admin/explain?query=claim");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object out = Json(r).as_object();
  EXPECT_EQ(out.at("statement").as_string(), "claim_jobs");
  EXPECT_TRUE(out.at("summary").at("uses_index").as_bool()) << r.body;
  EXPECT_TRUE(out.at("summary").at("seq_scans").as_array().empty()) << r.body;
  // PostgreSQL claims from its queue table (migration 0009), SQLite from its partial index.
  const std::string index =
      GetParam() == "postgresql" ? "ml_jobs_queue_claim_idx" : "ml_jobs_pending_claim_idx";
  EXPECT_NE(json::serialize(out.at("plan")).find(index), std::string::npos)
      << json::serialize(out.at("plan"));
  if (GetParam() == "postgresql") {
    // The server's generic plan, as it runs the claim: parameters, not the bound values.
    EXPECT_NE(json::serialize(out.at("plan")).find("run_after <= $1"), std::string::npos)
        << json::serialize(out.at("plan"));
  }
  EXPECT_EQ(db_->Query(pending)[0][0], before);
  EXPECT_EQ(db_->Query("SELECT count(*) FROM ml_jobs WHERE status = 'running'")[0][0], "0");
}

TEST_P(AdminApiTest, ExplainStatusCountReadsOnlyTheCountersNeverTheJobs) {
  Start();
  SubmitBatch(1000);
  db_->Query("ANALYZE");
  HttpResult r = Get("/admin/explain?query=status_count");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object out = Json(r).as_object();
  EXPECT_EQ(out.at("statement").as_string(), "stats_snapshot");
  const std::string plan = json::serialize(out.at("plan"));
  EXPECT_NE(plan.find("ml_jobs_counters"), std::string::npos) << plan;
  // The counters table is small whatever the job count; ml_jobs itself is never read.
  EXPECT_EQ(plan.find("\"ml_jobs\""), std::string::npos) << plan;
  EXPECT_EQ(plan.find("ml_jobs "), std::string::npos) << plan;
  for (const json::value& table : out.at("summary").at("seq_scans").as_array()) {
    EXPECT_NE(table.as_string(), "ml_jobs") << plan;
  }
}

TEST_P(AdminApiTest, ExplainRefusesAnythingButItsNamedQueries) {
  Start();
  for (const char* target : {"/admin/explain", "/admin/explain?query=SELECT%201",
                             "/admin/explain?query=first_page&query=pending",
                             "/admin/explain?query=first_page&sql=x"}) {
    HttpResult r = Get(target);
    EXPECT_EQ(r.status, 400) << target << ": " << r.body;
    EXPECT_EQ(Json(r).at("error").at("code").as_string(), "invalid_argument") << target;
  }
  HttpResult bad = Get("/admin/explain?query=drop_table");
  EXPECT_NE(Json(bad).at("error").at("message").as_string().find("first_page"), std::string::npos);
}

TEST_P(AdminApiTest, SlowQueryRingIsBoundedAndShowsStatementsOverTheThreshold) {
  cli::AppOptions options;
  options.slow_query_ms = 0;  // every statement is "slow"
  Start(options);
  HttpResult first = Get("/admin/slow-queries");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Json(first).at("threshold_ms").as_int64(), 0);
  EXPECT_EQ(Json(first).at("capacity").as_int64(), 256);

  HttpResult list = Get("/jobs?limit=5");
  ASSERT_EQ(list.status, 200);
  json::array ring = Json(Get("/admin/slow-queries")).at("slow_queries").as_array();
  ASSERT_FALSE(ring.empty());
  // Newest first: the list's statement; no parameter values, only what ran.
  const json::object& newest = ring[0].as_object();
  EXPECT_TRUE(newest.at("statement").as_string().starts_with("list")) << json::serialize(newest);
  EXPECT_EQ(newest.at("rows").as_int64(), 0);
  EXPECT_GE(newest.at("ms").to_number<double>(), 0.0);
  EXPECT_EQ(newest.size(), 4u);  // statement, at, ms, rows

  for (int i = 0; i < 300; ++i) ASSERT_EQ(Get("/jobs?limit=1").status, 200);
  ring = Json(Get("/admin/slow-queries")).at("slow_queries").as_array();
  EXPECT_EQ(ring.size(), obs::StatementRegistry::kSlowRingSize);
}

TEST_P(AdminApiTest, MetricsAreValidPrometheusTextWithRequestsStatementsAndPool) {
  Start();
  SubmitBatch(3);
  ASSERT_EQ(Get("/jobs?limit=2").status, 200);
  ASSERT_EQ(Get("/jobs?limit=2").status, 200);
  HttpResult r = Get("/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "text/plain; version=0.0.4");

  const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eE]+(Inf)?$)");
  const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::istringstream lines(r.body);
  std::string line;
  std::set<std::string> text;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(std::regex_match(line, line[0] == '#' ? comment : sample)) << line;
    text.insert(line);
  }
  EXPECT_TRUE(text.count(R"(mljobs_http_requests_total{method="GET",route="/jobs",status="200"} 2)"))
      << r.body;
  EXPECT_TRUE(
      text.count(R"(mljobs_http_requests_total{method="POST",route="/jobs/batch",status="201"} 1)"));
  EXPECT_TRUE(text.count(
      R"(mljobs_http_request_duration_seconds_count{method="GET",route="/jobs"} 2)"));
  EXPECT_TRUE(text.count(
      R"(mljobs_http_request_duration_seconds_bucket{method="GET",route="/jobs",le="+Inf"} 2)"));
  EXPECT_TRUE(text.count(R"(# TYPE mljobs_db_statement_duration_seconds histogram)"));
  // Jobs by status, from the stats counters.
  EXPECT_TRUE(text.count(R"(mljobs_jobs{status="pending"} 3)")) << r.body;
  EXPECT_TRUE(text.count(R"(mljobs_jobs{status="completed"} 0)"));
  EXPECT_TRUE(text.count(R"(mljobs_jobs_archived{status="completed"} 0)"));
  EXPECT_NE(r.body.find(R"(mljobs_db_statement_duration_seconds_bucket{statement=")"),
            std::string::npos);
  EXPECT_NE(r.body.find(R"(mljobs_db_statements_total{statement="find_active_token"})"),
            std::string::npos);
  for (const char* gauge : {"mljobs_db_pool_size ", "mljobs_db_pool_in_use ",
                            "mljobs_db_pool_idle ", "mljobs_db_pool_waiting ",
                            "mljobs_db_pool_acquired_total ", "mljobs_db_pool_timed_out_total ",
                            "mljobs_db_pool_recycled_total "}) {
    EXPECT_NE(r.body.find(std::string("\n") + gauge), std::string::npos) << gauge;
  }
  // Route labels are patterns, never raw paths.
  EXPECT_EQ(r.body.find("limit=2"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminApiTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace mljobs::testing

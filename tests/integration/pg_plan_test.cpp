// Query plans of the exact SQL the PostgreSQL store runs for lists, on 200,000 rows: each
// page is an index scan, never a sequential scan or a sort of ml_jobs; the same for lists
// with include_archived and for the archive batch (PgArchivePlanTest, its own database). The store's
// sessions plan every execution for its bound values (kSessionSetup), so EXPLAIN with the
// same bound values shows the plan the store gets.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "jobs/time_format.hpp"
#include "store/postgres/pg_archive_statements.hpp"
#include "store/postgres/pg_job_store.hpp"
#include "store/postgres/pg_list_sql.hpp"
#include "store/postgres/pg_pool.hpp"
#include "support/pg_pooled_store.hpp"
#include "support/run_sync.hpp"
#include "support/test_backends.hpp"

namespace mljobs::store::postgres {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using testing::TestDatabase;

constexpr int kRows = 200'000;

// One plan node, flattened.
struct Node {
  std::string type;
  std::string relation;
  std::string index;
};

void Flatten(const json::object& plan, std::vector<Node>& out) {
  Node node;
  node.type = json::value_to<std::string>(plan.at("Node Type"));
  if (auto* r = plan.if_contains("Relation Name")) node.relation = json::value_to<std::string>(*r);
  if (auto* i = plan.if_contains("Index Name")) node.index = json::value_to<std::string>(*i);
  out.push_back(node);
  if (auto* children = plan.if_contains("Plans")) {
    for (const auto& child : children->as_array()) Flatten(child.as_object(), out);
  }
}

struct Plan {
  std::vector<Node> nodes;
  std::string text;  // for failure messages

  bool Has(std::string_view type) const {
    for (const Node& n : nodes) {
      if (n.type == type) return true;
    }
    return false;
  }
  bool ScansIndex(std::string_view index) const {
    for (const Node& n : nodes) {
      if ((n.type == "Index Scan" || n.type == "Index Only Scan") && n.relation == "ml_jobs" &&
          n.index == index) {
        return true;
      }
    }
    return false;
  }
  int Count(std::string_view type) const {
    int count = 0;
    for (const Node& n : nodes) count += n.type == type;
    return count;
  }
};

class PgConn {
 public:
  explicit PgConn(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_));
  }
  ~PgConn() { PQfinish(conn_); }

  // Runs `sql` with `params` bound exactly as the store binds them; the first cell.
  std::string Cell(const std::string& sql, const PgParams& params) {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (int i = 0; i < params.size(); ++i) {
      values.push_back(params.IsNull(i) ? nullptr : params.Value(i).data());
      lengths.push_back(static_cast<int>(params.Value(i).size()));
      formats.push_back(params.Format(i));
    }
    PGresult* r = PQexecParams(conn_, sql.c_str(), params.size(), nullptr, values.data(),
                               lengths.data(), formats.data(), 0);
    std::unique_ptr<PGresult, void (*)(PGresult*)> owner(r, PQclear);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
      throw std::runtime_error(sql + ": " + PQresultErrorMessage(r));
    }
    return PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  }
  std::string Cell(const std::string& sql) { return Cell(sql, PgParams{}); }

 private:
  PGconn* conn_;
};

Plan ParsePlan(const std::string& text) {
  Plan plan;
  plan.text = text;
  Flatten(json::parse(text).as_array().at(0).as_object().at("Plan").as_object(), plan.nodes);
  return plan;
}

// A suite's migrated database (filled by the suite's SetUpTestSuite), and a connection per
// test that plans statements with their bound values.
class PgPlanFixture : public ::testing::Test {
 protected:
  // False when PostgreSQL is not available (SetUp then skips).
  static bool CreateDatabase() {
    if (testing::BackendUnavailable(testing::kPostgresqlBackend)) return false;
    db_ = new TestDatabase(testing::kPostgresqlBackend);
    asio::io_context io;
    testing::PooledStore store(db_->url(), io.get_executor(), StoreOptions{});
    testing::RunSync(io, store->Migrate());
    return true;
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }

  void SetUp() override {
    if (auto why = testing::BackendUnavailable(testing::kPostgresqlBackend)) GTEST_SKIP() << *why;
    conn_ = std::make_unique<PgConn>(db_->url());
  }

  static TestDatabase* db_;
  std::unique_ptr<PgConn> conn_;
};

TestDatabase* PgPlanFixture::db_ = nullptr;

class PgPlanTest : public PgPlanFixture {
 protected:
  static void SetUpTestSuite() {
    if (!CreateDatabase()) return;
    // Mostly finished jobs, few pending (as in production), 10 models, 100 owners; two
    // rows per second so that created_at has ties.
    db_->Query(
        "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, priority, run_after, "
        "created_at, updated_at) "
        "SELECT gen_random_uuid(), 'owner' || (g % 100), 'model' || (g % 10), 'input ' || g, "
        "CASE WHEN g % 20 = 0 THEN 'pending' WHEN g % 20 = 1 THEN 'running' "
        "WHEN g % 20 IN (2, 3) THEN 'failed' WHEN g % 20 = 4 THEN 'cancelled' "
        "ELSE 'completed' END, 0, t, t, t "
        "FROM generate_series(1, " +
        std::to_string(kRows) +
        ") AS g, LATERAL (SELECT timestamptz '2024-01-01' + (g / 2) * interval '1 second') AS "
        "x(t)");
    db_->Query("VACUUM ANALYZE ml_jobs");
  }
  // The plan for the bound values, as the store's statement gets it.
  Plan StorePlan(const PgQuery& query) {
    return ParsePlan(conn_->Cell("EXPLAIN (FORMAT JSON) " + query.sql, query.params));
  }

  // Keyset position of the n-th row (1-based) newest first.
  jobs::Position PositionOfRow(int n) {
    std::string at = conn_->Cell(
        "SELECT (extract(epoch FROM created_at) * 1000000)::int8 || ',' || id FROM ml_jobs "
        "ORDER BY created_at DESC, id DESC OFFSET " +
        std::to_string(n - 1) + " LIMIT 1");
    std::size_t comma = at.find(',');
    return jobs::Position{std::stoll(at.substr(0, comma)), std::stoll(at.substr(comma + 1))};
  }

  void ExpectIndexOnly(const Plan& plan, std::string_view index) {
    EXPECT_TRUE(plan.ScansIndex(index)) << "expected an index scan on " << index << ":\n"
                                        << plan.text;
    EXPECT_FALSE(plan.Has("Seq Scan")) << plan.text;
    EXPECT_FALSE(plan.Has("Bitmap Heap Scan")) << plan.text;
    EXPECT_FALSE(plan.Has("Sort")) << plan.text;
    EXPECT_FALSE(plan.Has("Incremental Sort")) << plan.text;
  }

  void ExpectIndexPlan(const jobs::ListQuery& query, std::string_view index) {
    PgQuery sql = BuildListQuery(query);
    SCOPED_TRACE(sql.name + ": " + sql.sql);
    ExpectIndexOnly(StorePlan(sql), index);
  }

};

TEST_F(PgPlanTest, TableHasTheRows) {
  EXPECT_EQ(conn_->Cell("SELECT count(*) FROM ml_jobs"), std::to_string(kRows));
}

TEST_F(PgPlanTest, FirstPageNewestFirst) {
  ExpectIndexPlan(jobs::ListQuery{}, "ml_jobs_created_idx");
}

TEST_F(PgPlanTest, FirstPageOldestFirst) {
  jobs::ListQuery query;
  query.order = jobs::SortOrder::kAsc;
  ExpectIndexPlan(query, "ml_jobs_created_idx");
}

TEST_F(PgPlanTest, PageOneHundredFiftyThousandRowsDeep) {
  jobs::ListQuery query;
  query.after = PositionOfRow(150'000);
  query.limit = 100;
  ExpectIndexPlan(query, "ml_jobs_created_idx");
}

TEST_F(PgPlanTest, PendingPage) {
  jobs::ListQuery query;
  query.filter.statuses = {jobs::JobStatus::kPending};
  ExpectIndexPlan(query, "ml_jobs_status_created_idx");
  query.after = PositionOfRow(150'000);
  ExpectIndexPlan(query, "ml_jobs_status_created_idx");
}

TEST_F(PgPlanTest, ModelPage) {
  jobs::ListQuery query;
  query.filter.model = "model3";
  ExpectIndexPlan(query, "ml_jobs_model_created_idx");
}

TEST_F(PgPlanTest, OwnerPage) {
  jobs::ListQuery query;
  query.filter.owner = "owner7";
  query.after = PositionOfRow(150'000);
  ExpectIndexPlan(query, "ml_jobs_owner_created_idx");
}

TEST_F(PgPlanTest, ThreeStatusesAreMergedWithoutSort) {
  jobs::ListQuery query;
  query.filter.statuses = {jobs::JobStatus::kPending, jobs::JobStatus::kRunning,
                           jobs::JobStatus::kFailed};
  for (bool deep : {false, true}) {
    if (deep) query.after = PositionOfRow(150'000);
    PgQuery sql = BuildListQuery(query);
    SCOPED_TRACE(sql.sql);
    Plan plan = StorePlan(sql);
    ExpectIndexOnly(plan, "ml_jobs_status_created_idx");
    EXPECT_TRUE(plan.Has("Merge Append")) << plan.text;
    EXPECT_EQ(plan.Count("Index Scan"), 3) << plan.text;
  }
}

TEST_F(PgPlanTest, StoreSessionsPlanForTheBoundValues) {
  asio::io_context io;
  PgPool pool(db_->url(), io.get_executor(), StoreOptions{});
  std::string mode = testing::RunSync(io, [&]() -> asio::awaitable<std::string> {
    auto conn = co_await pool.Acquire();
    obs::RequestStats stats;
    PgResult r =
        co_await conn->Run(stats, PgCommand{"show", "SHOW plan_cache_mode", nullptr, false});
    co_return std::string(r.Text(0, 0));
  }());
  EXPECT_EQ(mode, "force_custom_plan");
}

TEST_F(PgPlanTest, HeavyColumnsOnlyWhenAsked) {
  jobs::ListQuery query;
  EXPECT_EQ(BuildListQuery(query).sql.find("input_text"), std::string::npos);
  query.fields = jobs::FieldSet::All();
  PgQuery heavy = BuildListQuery(query);
  EXPECT_NE(heavy.sql.find("input_text"), std::string::npos);
  EXPECT_NE(heavy.sql.find("metadata"), std::string::npos);
  EXPECT_NE(heavy.name, BuildListQuery(jobs::ListQuery{}).name);
}

TEST_F(PgPlanTest, StoreListRunsOneStatementPerPage) {
  asio::io_context io;
  testing::PooledStore store(db_->url(), io.get_executor(), StoreOptions{});
  jobs::ListQuery query;
  query.filter.statuses = {jobs::JobStatus::kPending, jobs::JobStatus::kFailed};
  query.limit = 100;
  std::vector<jobs::Job> seen;
  for (int page = 0; page < 3; ++page) {
    obs::RequestStats stats;
    jobs::Page result = testing::RunSync(io, store->List(stats, query));
    EXPECT_EQ(stats.statements(), 1);
    ASSERT_EQ(result.jobs.size(), 100u);
    EXPECT_TRUE(result.has_more);
    seen.insert(seen.end(), result.jobs.begin(), result.jobs.end());
    query.after = jobs::Position{result.jobs.back().created_at, result.jobs.back().id};
  }
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_TRUE(seen[i].created_at < seen[i - 1].created_at ||
                (seen[i].created_at == seen[i - 1].created_at && seen[i].id < seen[i - 1].id));
    EXPECT_TRUE(seen[i].status == jobs::JobStatus::kPending ||
                seen[i].status == jobs::JobStatus::kFailed);
  }
}

// include_archived lists and the archive's own statements, at a realistic size: 200,000
// live jobs and 200,000 archived ones over eight monthly partitions, ANALYZEd. Every table
// and partition is read through an index in order (no Seq Scan, no Sort), and the archive
// batch finds its candidates through ml_jobs_finished_completed_idx.
constexpr int kArchivedRows = 200'000;

class PgArchivePlanTest : public PgPlanFixture {
 protected:
  static void SetUpTestSuite() {
    if (!CreateDatabase()) return;
    // Live: mostly finished, a few pending; one job per 26 s over the last ~60 days, so about
    // half are old enough for a 30-day archive run.
    // Archived: finished 1 to 8 months ago, created an hour before; ids apart from the live
    // ones. 100 owners, 10 models.
    const std::string status =
        "CASE WHEN g % 20 = 0 THEN 'pending' WHEN g % 20 = 1 THEN 'running' "
        "WHEN g % 20 IN (2, 3) THEN 'failed' WHEN g % 20 = 4 THEN 'cancelled' ELSE 'completed' END";
    db_->Query(
        "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, priority, run_after, "
        "created_at, updated_at, completed_at) "
        "SELECT gen_random_uuid(), 'owner' || (g % 100), 'model' || (g % 10), 'input ' || g, s, "
        "0, t, t, t, CASE WHEN s IN ('pending', 'running') THEN NULL ELSE t END "
        "FROM generate_series(1, " + std::to_string(kRows) + ") AS g, "
        "LATERAL (SELECT now() - g * interval '26 seconds' AS t, " + status + " AS s) AS x");
    db_->Query("SELECT ml_jobs_archive_ensure_partition(now() - m * interval '1 month') "
               "FROM generate_series(0, 9) AS m");
    db_->Query(
        "INSERT INTO ml_jobs_archive (id, job_uuid, owner, model, input_text, status, priority, "
        "attempts, max_attempts, run_after, created_at, completed_at, updated_at, archived_at) "
        "SELECT 1000000 + g, gen_random_uuid(), 'owner' || (g % 100), 'model' || (g % 10), "
        "'input ' || g, CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'completed' END, 0, 1, 3, t, t, "
        "t + interval '1 hour', t + interval '1 hour', now() "
        "FROM generate_series(1, " + std::to_string(kArchivedRows) + ") AS g, "
        "LATERAL (SELECT now() - interval '35 days' - g * interval '100 seconds' AS t) AS x");
    db_->Query("VACUUM ANALYZE ml_jobs");
    db_->Query("ANALYZE ml_jobs_archive");
  }
  Plan PlanOf(const std::string& sql, const PgParams& params) {
    return ParsePlan(conn_->Cell("EXPLAIN (FORMAT JSON) " + sql, params));
  }

  // Every read is an index scan in the list's order: of `live_index` on ml_jobs (or of
  // ml_jobs_created_idx with the filter applied, which the planner picks for a common
  // value: both stop after the page), and of some index on the archive partitions; nothing
  // is sorted.
  void ExpectIndexOrderedPlan(const jobs::ListQuery& query, const std::string& live_index) {
    PgQuery sql = BuildListQuery(query);
    SCOPED_TRACE(sql.name + ": " + sql.sql);
    Plan plan = PlanOf(sql.sql, sql.params);
    const std::string& text = plan.text;
    bool live = false, archive = false;
    for (const Node& n : plan.nodes) {
      EXPECT_NE(n.type, "Seq Scan") << text;
      EXPECT_NE(n.type, "Sort") << text;
      EXPECT_NE(n.type, "Incremental Sort") << text;
      EXPECT_NE(n.type, "Bitmap Heap Scan") << text;
      const bool index_scan = n.type == "Index Scan" || n.type == "Index Only Scan";
      if (index_scan && n.relation == "ml_jobs") {
        EXPECT_TRUE(n.index == live_index || n.index == "ml_jobs_created_idx") << text;
        live = true;
      }
      if (index_scan && n.relation.starts_with("ml_jobs_archive_")) archive = true;
    }
    EXPECT_TRUE(live) << text;
    EXPECT_TRUE(archive) << text;
  }

  // Keyset position of the n-th row (1-based) of both tables, newest first.
  jobs::Position PositionOfRow(int n) {
    std::string sql =
        "SELECT (extract(epoch FROM created_at) * 1000000)::int8 || ',' || id FROM "
        "(SELECT created_at, id FROM ml_jobs UNION ALL SELECT created_at, id FROM "
        "ml_jobs_archive) AS a ORDER BY created_at DESC, id DESC OFFSET " +
        std::to_string(n - 1) + " LIMIT 1";
    std::string at = *db_->Query(sql)[0][0];
    std::size_t comma = at.find(',');
    return jobs::Position{std::stoll(at.substr(0, comma)), std::stoll(at.substr(comma + 1))};
  }

};

jobs::ListQuery WithArchive() {
  jobs::ListQuery query;
  query.filter.include_archived = true;
  return query;
}

TEST_F(PgArchivePlanTest, TablesHaveTheRows) {
  EXPECT_EQ(*db_->Query("SELECT count(*) FROM ml_jobs")[0][0], std::to_string(kRows));
  EXPECT_EQ(*db_->Query("SELECT count(*) FROM ml_jobs_archive")[0][0], std::to_string(kArchivedRows));
  EXPECT_GE(std::stoi(*db_->Query("SELECT count(*) FROM pg_inherits WHERE inhparent = "
                                  "'ml_jobs_archive'::regclass")[0][0]),
            8);
}

TEST_F(PgArchivePlanTest, FirstAndDeepPagesBothOrders) {
  for (jobs::SortOrder order : {jobs::SortOrder::kDesc, jobs::SortOrder::kAsc}) {
    jobs::ListQuery query = WithArchive();
    query.order = order;
    ExpectIndexOrderedPlan(query, "ml_jobs_created_idx");
    query.after = PositionOfRow(300'000);  // among the archived jobs
    query.limit = 100;
    ExpectIndexOrderedPlan(query, "ml_jobs_created_idx");
  }
}

TEST_F(PgArchivePlanTest, FilteredPages) {
  jobs::ListQuery statuses = WithArchive();
  statuses.filter.statuses = {jobs::JobStatus::kCompleted, jobs::JobStatus::kFailed};
  ExpectIndexOrderedPlan(statuses, "ml_jobs_status_created_idx");
  statuses.after = PositionOfRow(250'000);
  ExpectIndexOrderedPlan(statuses, "ml_jobs_status_created_idx");

  jobs::ListQuery model = WithArchive();
  model.filter.model = "model3";
  ExpectIndexOrderedPlan(model, "ml_jobs_model_created_idx");

  jobs::ListQuery owner = WithArchive();
  owner.filter.owner = "owner7";
  owner.after = PositionOfRow(250'000);
  ExpectIndexOrderedPlan(owner, "ml_jobs_owner_created_idx");
}

TEST_F(PgArchivePlanTest, TheArchiveBatchFindsItsCandidatesThroughThePartialIndex) {
  // Both statements of a batch, with the values ArchiveBatch binds: a 30-day cutoff.
  PgParams candidates;
  candidates.AddTimestamp(jobs::NowMicros() - 30LL * 86'400'000'000);
  candidates.AddInt32(10'000);
  PgParams batch = candidates;
  batch.AddTimestamp(jobs::NowMicros());
  for (auto [statement, params] : {std::pair{&kArchiveEnsurePartitions, &candidates},
                                   std::pair{&kArchiveBatch, &batch}}) {
    SCOPED_TRACE(std::string(statement->name));
    Plan plan = PlanOf(std::string(statement->sql), *params);
    const std::string& text = plan.text;
    bool candidate_scan = false;
    for (const Node& n : plan.nodes) {
      EXPECT_FALSE(n.type == "Seq Scan" && n.relation == "ml_jobs") << text;
      EXPECT_NE(n.type, "Sort") << text;
      if ((n.type == "Index Scan" || n.type == "Index Only Scan") && n.relation == "ml_jobs" &&
          n.index == "ml_jobs_finished_completed_idx") {
        candidate_scan = true;
      }
    }
    EXPECT_TRUE(candidate_scan) << text;
  }
}

}  // namespace
}  // namespace mljobs::store::postgres

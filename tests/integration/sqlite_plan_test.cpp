// EXPLAIN QUERY PLAN of every list shape the SQLite backend builds (filters, order, keyset
// position, heavy columns, include_archived): each reads the intended index for filter and
// order (the archive's own for its branches), with no temporary b-tree for ORDER BY (but
// for several branches, whose merge sorts at most branches * limit rows), both before any
// statistics exist and after ANALYZE of skewed data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "jobs/job_query.hpp"
#include "obs/request_stats.hpp"
#include "store/open_store.hpp"
#include "store/sqlite/sqlite_archive_statements.hpp"
#include "store/sqlite/sqlite_list_sql.hpp"
#include "store/sqlite/sqlite_statements.hpp"
#include "support/test_backends.hpp"

namespace mljobs {
namespace {

using jobs::JobFilter;
using jobs::JobStatus;
using jobs::SortOrder;
using store::sqlite::HeavyColumns;

class SqlitePlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = std::make_unique<testing::TestDatabase>(testing::kSqliteBackend);
    store_ = testing::OpenTestStore(database_->url(), io_);
    testing::RunSync(io_, store_->Migrate());
  }

  void TearDown() override { store_.reset(); }

  struct PlanNode {
    int id = 0;
    int parent = 0;
    std::string detail;  // "SEARCH ml_jobs USING INDEX ..."
  };

  std::vector<PlanNode> PlanTree(std::string_view sql) {
    std::vector<PlanNode> nodes;
    for (const auto& row : database_->Query("EXPLAIN QUERY PLAN " + std::string(sql))) {
      nodes.push_back({std::stoi(*row[0]), std::stoi(*row[1]), row[3].value_or("")});
    }
    return nodes;
  }

  // The plan's lines, one per node.
  std::vector<std::string> Plan(std::string_view sql) {
    std::vector<std::string> lines;
    for (const PlanNode& node : PlanTree(sql)) lines.push_back(node.detail);
    return lines;
  }

  static std::string Joined(const std::vector<std::string>& lines) {
    std::ostringstream out;
    for (const auto& line : lines) out << "\n  " << line;
    return out.str();
  }

  // Skewed data, then full statistics: most jobs completed and of one model, so the planner
  // has reasons to prefer another index than the one the shape was written for.
  void LoadSkewedDataAndAnalyze() {
    std::vector<jobs::NewJob> jobs;
    for (int n = 0; n < 20'000; ++n) {
      jobs::NewJob job;
      char uuid[37];
      std::snprintf(uuid, sizeof uuid, "01890000-0000-7000-8000-%012x", n);
      job.uuid = uuid;
      job.owner = n % 100 == 0 ? "rare-owner" : "owner-" + std::to_string(n % 3);
      job.model = n % 20 == 0 ? "rare-model" : "big-model";
      job.input_text = std::string(200, 'x');
      job.created_at = 1'700'000'000'000'000 + n * 1000;
      jobs.push_back(job);
    }
    obs::RequestStats stats;
    testing::RunSync(io_, store_->InsertBatch(stats, jobs));
    database_->Query(
        "UPDATE ml_jobs SET status = CASE WHEN id % 50 = 0 THEN 'pending' "
        "WHEN id % 50 = 1 THEN 'running' WHEN id % 50 = 2 THEN 'failed' "
        "ELSE 'completed' END");
    database_->Query("ANALYZE");
  }

  // Every list shape: the filters combined, both orders, with and without a position, with
  // and without heavy columns.
  void ExpectEveryListShapeUsesItsIndex() {
    for (int mask = 0; mask < 32; ++mask) {
      for (int statuses : {0, 1, 3}) {
        if ((mask & 1) != 0 && statuses == 0) continue;  // bit 0: statuses present
        if ((mask & 1) == 0 && statuses != 0) continue;
        JobFilter filter;
        const std::vector<JobStatus> all = {JobStatus::kPending, JobStatus::kRunning,
                                            JobStatus::kCompleted};
        filter.statuses.assign(all.begin(), all.begin() + statuses);
        if ((mask & 2) != 0) filter.model = "rare-model";
        if ((mask & 4) != 0) filter.owner = "rare-owner";
        if ((mask & 8) != 0) filter.created_after = 1'700'000'000'000'000;
        if ((mask & 16) != 0) filter.created_before = 1'700'000'010'000'000;
        for (bool archived : {false, true}) {
          filter.include_archived = archived;
          for (SortOrder order : {SortOrder::kDesc, SortOrder::kAsc}) {
            for (bool after : {false, true}) {
              for (HeavyColumns heavy : {HeavyColumns{}, HeavyColumns::All()}) {
                ExpectListPlan(filter, order, after, heavy);
              }
            }
          }
        }
      }
    }
  }

  void ExpectListPlan(const JobFilter& filter, SortOrder order, bool after, HeavyColumns heavy) {
    const std::string sql = store::sqlite::ListSql(filter, order, after, heavy);
    const std::vector<PlanNode> tree = PlanTree(sql);
    const std::vector<std::string> plan = Plan(sql);
    SCOPED_TRACE(sql + Joined(plan));
    // The indexes that serve both an equality of the filter and the order: any of them is a
    // range read in order (a status branch of several may well pick the model's or owner's).
    // With include_archived, the archive's index of the same name for its branches.
    std::set<std::string> allowed;
    for (std::string table : {"ml_jobs", "ml_jobs_archive"}) {
      if (table == "ml_jobs_archive" && !filter.include_archived) continue;
      if (!filter.statuses.empty()) allowed.insert(table + "_status_created_idx");
      if (filter.model) allowed.insert(table + "_model_created_idx");
      if (filter.owner) allowed.insert(table + "_owner_created_idx");
      if (!filter.model && !filter.owner && filter.statuses.empty()) {
        allowed.insert(table + "_created_idx");
      }
    }

    std::size_t table_reads = 0;
    for (const std::string& line : plan) {
      if (line.find(" ml_jobs") == std::string::npos || line.starts_with("SCAN (")) continue;
      ++table_reads;
      bool uses_allowed = false;
      for (const std::string& index : allowed) {
        if (line.find("INDEX " + index + " ") != std::string::npos ||
            line.ends_with("INDEX " + index)) {
          uses_allowed = true;
        }
      }
      EXPECT_TRUE(uses_allowed) << "unexpected access: " << line;
    }
    const std::size_t branches =
        std::max<std::size_t>(1, filter.statuses.size()) * (filter.include_archived ? 2 : 1);
    EXPECT_EQ(table_reads, branches);
    if (branches == 1) {
      for (const std::string& line : plan) {
        EXPECT_EQ(line.find("TEMP B-TREE"), std::string::npos) << line;
      }
      return;
    }
    // Several branches: a sort is allowed over a branch's LIMITed output or the merge, never
    // inside a branch's read (a CO-ROUTINE node holds just its index range).
    for (const PlanNode& node : tree) {
      if (node.detail.find("TEMP B-TREE") == std::string::npos) continue;
      for (const PlanNode& parent : tree) {
        if (parent.id == node.parent) {
          EXPECT_FALSE(parent.detail.starts_with("CO-ROUTINE")) << "sort inside a branch";
        }
      }
    }
  }

  void ExpectUsesIndex(std::string_view sql, std::string_view index) {
    const std::vector<std::string> plan = Plan(sql);
    SCOPED_TRACE(std::string(sql) + Joined(plan));
    bool found = false;
    for (const std::string& line : plan) {
      if (line.find("INDEX " + std::string(index)) != std::string::npos) found = true;
      EXPECT_EQ(line.find("TEMP B-TREE"), std::string::npos) << line;
      if (line.find(" ml_jobs") != std::string::npos) {
        EXPECT_NE(line.find("INDEX"), std::string::npos) << "reads the table without an index";
      }
    }
    EXPECT_TRUE(found);
  }

  boost::asio::io_context io_;
  std::unique_ptr<testing::TestDatabase> database_;
  testing::OpenedStore store_;
};

TEST_F(SqlitePlanTest, ListShapesUseTheirIndexWithoutStatistics) {
  ExpectEveryListShapeUsesItsIndex();
}

TEST_F(SqlitePlanTest, ListShapesUseTheirIndexAfterAnalyzeOfSkewedData) {
  LoadSkewedDataAndAnalyze();
  ExpectEveryListShapeUsesItsIndex();
}

TEST_F(SqlitePlanTest, SeveralStatusesReadOneOrderedRangePerStatus) {
  JobFilter filter;
  filter.statuses = {JobStatus::kPending, JobStatus::kRunning, JobStatus::kFailed};
  const std::vector<std::string> plan =
      Plan(store::sqlite::ListSql(filter, SortOrder::kDesc, true, HeavyColumns{}));
  SCOPED_TRACE(Joined(plan));
  int branches = 0;
  for (const std::string& line : plan) {
    if (line.find("SEARCH ml_jobs USING COVERING INDEX ml_jobs_status_created_idx (status=? "
                  "AND ") != std::string::npos ||
        line.find("SEARCH ml_jobs USING INDEX ml_jobs_status_created_idx (status=? AND ") !=
            std::string::npos) {
      ++branches;
    }
  }
  EXPECT_EQ(branches, 3);
}

TEST_F(SqlitePlanTest, PointStatementsUseTheUuidIndex) {
  LoadSkewedDataAndAnalyze();
  ExpectUsesIndex(store::sqlite::kGetJob.sql(), "ml_jobs_job_uuid_key");
  ExpectUsesIndex(store::sqlite::kCancelJob.sql(), "ml_jobs_job_uuid_key");
  ExpectUsesIndex(store::sqlite::kCancelLookup.sql(), "ml_jobs_job_uuid_key");
}

TEST_F(SqlitePlanTest, CountsReadIndexesOnly) {
  LoadSkewedDataAndAnalyze();
  JobFilter by_status;
  by_status.statuses = {JobStatus::kPending, JobStatus::kRunning};
  ExpectUsesIndex(store::sqlite::CountSql(by_status), "ml_jobs_status_created_idx");
  JobFilter by_model;
  by_model.model = "rare-model";
  ExpectUsesIndex(store::sqlite::CountSql(by_model), "ml_jobs_model_created_idx");
  ExpectUsesIndex(store::sqlite::CountSql(JobFilter{}), "ml_jobs_");
}

TEST_F(SqlitePlanTest, TheEstimateReadsRowsByPrimaryKeyOnly) {
  LoadSkewedDataAndAnalyze();
  JobFilter by_status_and_model;
  by_status_and_model.statuses = {JobStatus::kCompleted};
  by_status_and_model.model = "rare-model";
  JobFilter by_range;
  by_range.created_after = 1'700'000'000'000'000;
  by_range.created_before = 1'700'000'010'000'000;
  by_range.statuses = {JobStatus::kPending, JobStatus::kRunning};
  JobFilter by_owner_since;
  by_owner_since.owner = "rare-owner";
  by_owner_since.created_after = 1'700'000'000'000'000;
  for (JobFilter filter : {JobFilter{}, by_status_and_model, by_range, by_owner_since}) {
    for (bool archived : {false, true}) {  // with the archive: one lookup in each table
      filter.include_archived = archived;
      const std::string sql = store::sqlite::EstimateSql(filter);
      const std::vector<std::string> plan = Plan(sql);
      SCOPED_TRACE(sql + Joined(plan));
      int lookups = 0;
      for (const std::string& line : plan) {
        if (line.find(" ml_jobs") == std::string::npos) continue;
        EXPECT_TRUE(line.starts_with("SEARCH ml_jobs")) << "a scan: " << line;
        if (line.find("USING INTEGER PRIMARY KEY (rowid=?)") != std::string::npos) ++lookups;
      }
      EXPECT_EQ(lookups, archived ? 2 : 1);
    }
  }
}

// After ANALYZE the planner used to read one ml_jobs_status_created_idx range per finished
// status and sort them all to find a batch's oldest rows: a whole-table cost per batch.
TEST_F(SqlitePlanTest, ArchiveAndPurgeBatchesReadOnlyTheirRowsInOrder) {
  LoadSkewedDataAndAnalyze();
  struct Case {
    std::string_view sql;
    std::string index;
  };
  for (const Case& c : {Case{store::sqlite::kArchiveCopy.sql(), "ml_jobs_finished_completed_idx"},
                        Case{store::sqlite::kArchiveDelete.sql(), "ml_jobs_finished_completed_idx"},
                        Case{store::sqlite::kPurgeBatch.sql(), "ml_jobs_archive_completed_idx"}}) {
    const std::vector<std::string> plan = Plan(c.sql);
    SCOPED_TRACE(std::string(c.sql) + Joined(plan));
    bool range = false;
    for (const std::string& line : plan) {
      if (line.find("INDEX " + c.index + " (completed_at<?)") != std::string::npos) range = true;
      EXPECT_EQ(line.find("TEMP B-TREE"), std::string::npos) << line;
      EXPECT_FALSE(line.starts_with("SCAN ml_jobs")) << line;
    }
    EXPECT_TRUE(range);
  }
}

}  // namespace
}  // namespace mljobs

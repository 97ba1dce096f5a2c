// The trigger-kept job counters (migrations 0003, 0004) on both backends: after a random mix
// of inserts, claims, completions, failures, retries, cancels, archives and purges they
// equal GROUP BY over the tables; RebuildCounters recomputes the same; bulk loads with the
// triggers paused are repaired by RebuildCounters; the stats read never touches ml_jobs.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "jobs/stats_store.hpp"
#include "jobs/time_format.hpp"
#include "store/postgres/pg_stats_statements.hpp"
#include "store/sqlite/sqlite_stats_statements.hpp"
#include "support/test_backends.hpp"

namespace mljobs::testing {
namespace {

constexpr jobs::Micros kHour = 3'600'000'000;
constexpr jobs::Micros kDay = 24 * kHour;

// The keys on which two figure maps differ, with both values ("" when equal).
std::string Diff(const std::map<std::string, std::int64_t>& counted,
                 const std::map<std::string, std::int64_t>& expected) {
  std::string out;
  auto value = [](const auto& map, const std::string& key) {
    auto it = map.find(key);
    return it == map.end() ? std::string("absent") : std::to_string(it->second);
  };
  std::map<std::string, int> keys;
  for (const auto& [key, n] : counted) keys[key];
  for (const auto& [key, n] : expected) keys[key];
  for (const auto& [key, unused] : keys) {
    if (value(counted, key) != value(expected, key)) {
      out += key + ": counted " + value(counted, key) + ", expected " + value(expected, key) + "\n";
    }
  }
  return out;
}

class StatsCountersTest : public StoreTest {
 protected:
  bool pg() const { return GetParam() == kPostgresqlBackend; }
  const char* Pick(const char* postgres, const char* sqlite) const { return pg() ? postgres : sqlite; }

  std::int64_t Int(const std::string& sql) {
    auto rows = database().Query(sql);
    return rows.empty() || !rows[0][0] ? 0 : std::stoll(*rows[0][0]);
  }

  // A time as an SQL literal of the backend.
  std::string At(jobs::Micros t) const {
    return pg() ? "(timestamptz 'epoch' + " + std::to_string(t) + " * interval '1 microsecond')"
                : std::to_string(t);
  }
  // An SQL expression for a time column as µs since the epoch.
  std::string Us(const std::string& column) const {
    return pg() ? "(extract(epoch FROM " + column + ") * 1000000)::int8" : column;
  }
  std::string HourUs(const std::string& column) const {
    return pg() ? Us("date_bin('1 hour', " + column + ", timestamptz 'epoch')")
                : "(" + column + " - " + column + " % 3600000000)";
  }

  void InsertJobs(std::mt19937& rng, int n, jobs::Micros now) {
    std::vector<jobs::NewJob> batch;
    for (int i = 0; i < n; ++i) {
      jobs::NewJob job;
      job.uuid = "00000000-0000-7000-8000-" + std::to_string(100000000000 + next_uuid_++);
      job.owner = "o";
      job.model = "m" + std::to_string(rng() % 4);
      job.input_text = "x";
      job.created_at = now - static_cast<jobs::Micros>(rng() % (60 * 24)) * kHour -
                       static_cast<jobs::Micros>(rng() % 3'600'000'000);
      batch.push_back(std::move(job));
    }
    obs::RequestStats stats;
    Run(store().InsertBatch(stats, batch));
  }

  // Moves up to `n` finished jobs that completed before `cutoff` as the archiver does.
  void Archive(int n, jobs::Micros cutoff) {
    std::string pick = "SELECT id FROM ml_jobs WHERE status IN ('completed', 'failed', "
                       "'cancelled') AND completed_at < " + At(cutoff) +
                       " ORDER BY completed_at, id LIMIT " + std::to_string(n);
    if (pg()) {
      database().Query("SELECT ml_jobs_archive_ensure_partition(completed_at) FROM ml_jobs "
                       "WHERE id IN (" + pick + ")");
      database().Query("WITH moved AS (DELETE FROM ml_jobs WHERE id IN (" + pick +
                       ") RETURNING *) INSERT INTO ml_jobs_archive SELECT *, now() FROM moved");
    } else {
      database().Query("BEGIN IMMEDIATE; CREATE TEMP TABLE pick AS " + pick +
                       "; INSERT INTO ml_jobs_archive SELECT *, 1 FROM ml_jobs WHERE id IN "
                       "(SELECT id FROM pick); DELETE FROM ml_jobs WHERE id IN (SELECT id FROM "
                       "pick); DROP TABLE pick; COMMIT");
    }
  }

  // Everything the counters claim, and the same computed with GROUP BY, as text lines.
  std::map<std::string, std::int64_t> FromCounters(jobs::Micros since, jobs::Micros from,
                                                   jobs::Micros to) {
    obs::RequestStats stats;
    jobs::CounterSnapshot s = Run(backend().stats().Snapshot(stats, since));
    std::map<std::string, std::int64_t> out;
    for (int i = 0; i < jobs::kStatusCount; ++i) {
      auto name = std::string(jobs::ToString(static_cast<jobs::JobStatus>(i)));
      if (s.live_by_status[i] != 0) out["live " + name] = s.live_by_status[i];
      if (s.archived_by_status[i] != 0) out["archived " + name] = s.archived_by_status[i];
    }
    for (const auto& [model, n] : s.live_by_model) out["model " + model] = n;
    out["created since"] = s.created_since;
    for (const auto& b : s.run_time) {
      out["run " + std::to_string(b.upper_micros)] = b.jobs;
      if (b.micros != 0) out["run us " + std::to_string(b.upper_micros)] = b.micros;
    }
    for (const auto& h : Run(backend().stats().Hours(stats, from, to))) {
      if (h.created) out["created " + std::to_string(h.hour)] = h.created;
      if (h.completed) out["completed " + std::to_string(h.hour)] = h.completed;
      if (h.failed) out["failed " + std::to_string(h.hour)] = h.failed;
    }
    return out;
  }

  std::map<std::string, std::int64_t> FromGroupBy(jobs::Micros since, jobs::Micros from,
                                                  jobs::Micros to) {
    std::map<std::string, std::int64_t> out;
    auto add = [&](const std::string& prefix, const std::string& sql) {
      for (const auto& row : database().Query(sql)) {
        std::int64_t n = std::stoll(*row[1]);
        if (n != 0) out[prefix + *row[0]] = n;
      }
    };
    const std::string all = "(SELECT status, created_at, started_at, completed_at, updated_at "
                            "FROM ml_jobs UNION ALL SELECT status, created_at, started_at, "
                            "completed_at, updated_at FROM ml_jobs_archive) AS a";
    add("live ", "SELECT status, count(*) FROM ml_jobs GROUP BY status");
    add("archived ", "SELECT status, count(*) FROM ml_jobs_archive GROUP BY status");
    add("model ", "SELECT model, count(*) FROM ml_jobs GROUP BY model");
    out["created since"] = Int("SELECT count(*) FROM " + all + " WHERE created_at >= " + At(since));
    std::string runs = "(SELECT " + Us("completed_at") + " - " + Us("started_at") +
                       " AS us FROM " + all + " WHERE status = 'completed' AND started_at IS "
                       "NOT NULL) AS r";
    std::string bucket = "(SELECT min(upper_us) FROM ml_jobs_run_buckets WHERE upper_us >= us)";
    add("run ", "SELECT " + bucket + " AS b, count(*) FROM " + runs + " GROUP BY b");
    add("run us ", "SELECT " + bucket + " AS b, sum(us) FROM " + runs + " GROUP BY b");
    auto hours = [&](const std::string& name, const std::string& column,
                     const std::string& where) {
      std::string h = HourUs(column);
      add(name + " ", "SELECT " + h + " AS h, count(*) FROM " + all + " WHERE " + where +
                          " AND " + h + " >= " + std::to_string(from) + " AND " + h + " < " +
                          std::to_string(to) + " GROUP BY h");
    };
    hours("created", "created_at", "true");
    hours("completed", "completed_at", "status = 'completed'");
    hours("failed", "coalesce(completed_at, updated_at)", "status = 'failed'");
    return out;
  }

  int next_uuid_ = 0;
};

TEST_P(StatsCountersTest, EqualGroupByAfterARandomMixOfWrites) {
  std::mt19937 rng(20261122);
  const jobs::Micros now = jobs::NowMicros();
  const std::string k = "20";
  const std::string pending = "SELECT id FROM ml_jobs WHERE status = 'pending' ORDER BY id LIMIT ";
  const std::string running = "SELECT id FROM ml_jobs WHERE status = 'running' ORDER BY id LIMIT ";
  InsertJobs(rng, 300, now);
  for (int step = 0; step < 40; ++step) {
    switch (rng() % 8) {
      case 0:
        InsertJobs(rng, 1 + static_cast<int>(rng() % 50), now);
        break;
      case 1:  // claim
        database().Query(std::string("UPDATE ml_jobs SET status = 'running', started_at = ") +
                         Pick("created_at + (id % 7) * interval '1 second'",
                              "created_at + (id % 7) * 1000000") +
                         " WHERE id IN (" + pending + k + ")");
        break;
      case 2:  // complete
        database().Query(std::string("UPDATE ml_jobs SET status = 'completed', completed_at = ") +
                         Pick("started_at + (id % 50) * interval '37 milliseconds'",
                              "started_at + (id % 50) * 37000") +
                         ", updated_at = started_at WHERE id IN (" + running + k + ")");
        break;
      case 3:  // fail (no completed_at: counted by the hour of updated_at)
        database().Query(std::string("UPDATE ml_jobs SET status = 'failed', updated_at = ") +
                         Pick("started_at + interval '5 seconds'", "started_at + 5000000") +
                         " WHERE id IN (" + running + "5)");
        break;
      case 4:  // retry a failed job
        database().Query("UPDATE ml_jobs SET status = 'pending', started_at = NULL WHERE id IN "
                         "(SELECT id FROM ml_jobs WHERE status = 'failed' ORDER BY id LIMIT 2)");
        break;
      case 5: {  // cancel through the store
        auto rows = database().Query(
            "SELECT job_uuid FROM ml_jobs WHERE status IN ('pending', 'running') ORDER BY id "
            "LIMIT 3");
        obs::RequestStats stats;
        for (const auto& row : rows) Run(store().Cancel(stats, *row[0], std::nullopt, now));
        break;
      }
      case 6:
        Archive(1 + static_cast<int>(rng() % 30), now - 30 * kDay);
        break;
      case 7:  // purge
        database().Query("DELETE FROM ml_jobs_archive WHERE id IN (SELECT id FROM "
                         "ml_jobs_archive ORDER BY id LIMIT 7)");
        break;
    }
  }
  // Failed jobs need a completed_at to be archived; give some one, then archive again.
  database().Query(std::string("UPDATE ml_jobs SET completed_at = updated_at WHERE status = "
                               "'failed' AND id % 2 = 0"));
  Archive(50, now - 30 * kDay);

  ASSERT_GT(Int("SELECT count(*) FROM ml_jobs_archive"), 0);
  ASSERT_GT(Int("SELECT count(*) FROM ml_jobs WHERE status = 'completed'"), 0);
  const jobs::Micros since = now - now % kHour - 23 * kHour;
  const jobs::Micros from = now - now % kHour - 70 * kDay;
  const jobs::Micros to = now - now % kHour + kHour;
  auto expected = FromGroupBy(since, from, to);
  EXPECT_EQ(Diff(FromCounters(since, from, to), expected), "");

  obs::RequestStats stats;
  Run(backend().stats().RebuildCounters(stats));
  EXPECT_EQ(Diff(FromCounters(since, from, to), expected), "");
}

TEST_P(StatsCountersTest, RebuildCountersRepairsABulkLoadWithTriggersPaused) {
  std::mt19937 rng(7);
  const jobs::Micros now = jobs::NowMicros();
  InsertJobs(rng, 10, now);
  // The documented bulk-load pattern of each backend (see jobs/stats_store.hpp).
  std::string load =
      "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, run_after, created_at, "
      "updated_at, started_at, completed_at) SELECT ";
  if (pg()) {
    database().Query("SET session_replication_role = replica; " + load +
                     "gen_random_uuid(), 'o', 'bulk', 'x', 'completed', now(), now(), now(), "
                     "now() - interval '3 seconds', now() FROM generate_series(1, 500)");
  } else {
    database().Query("INSERT INTO mljobs_meta (key, value) VALUES ('counters_paused', '1'); "
                     "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < "
                     "500) " + load + "lower(hex(randomblob(16))), 'o', 'bulk', 'x', "
                     "'completed', 1, " + std::to_string(now) + ", 1, " +
                     std::to_string(now - 3'000'000) + ", " + std::to_string(now) +
                     " FROM g; DELETE FROM mljobs_meta WHERE key = 'counters_paused'");
  }
  const jobs::Micros since = now - now % kHour - 23 * kHour;
  const jobs::Micros from = now - now % kHour - 70 * kDay;
  const jobs::Micros to = now - now % kHour + kHour;
  auto counted = FromCounters(since, from, to);
  EXPECT_EQ(counted.count("model bulk"), 0u) << "the load was counted: triggers not paused";
  EXPECT_EQ(counted["live pending"], 10);

  obs::RequestStats stats;
  Run(backend().stats().RebuildCounters(stats));
  auto rebuilt = FromCounters(since, from, to);
  EXPECT_EQ(rebuilt["model bulk"], 500);
  EXPECT_EQ(rebuilt["live completed"], 500);
  EXPECT_EQ(rebuilt["run 5000000"], 500);  // 3 s runs: the (2 s, 5 s] bucket
  EXPECT_EQ(Diff(rebuilt, FromGroupBy(since, from, to)), "");
  // Recorded as its statements: PostgreSQL's five in one pipeline, SQLite's two.
  EXPECT_EQ(stats.statements(), pg() ? 5 : 2);
}

// The stats read is one statement over ml_jobs_counters: its plan never reads a job table.
TEST_P(StatsCountersTest, SnapshotPlanReadsOnlyTheCountersTable) {
  std::string plan;
  if (pg()) {
    std::string sql(store::postgres::kStatsSnapshot.sql);
    sql.replace(sql.find("$1::timestamptz"), 15, "now()");
    for (const auto& row : database().Query("EXPLAIN " + sql)) plan += *row[0] + "\n";
  } else {
    std::string sql(store::sqlite::kStatsSnapshot.sql());
    sql.replace(sql.find(":since"), 6, "0");
    for (const auto& row : database().Query("EXPLAIN QUERY PLAN " + sql)) plan += *row[3] + "\n";
  }
  EXPECT_NE(plan.find("ml_jobs_counters"), std::string::npos) << plan;
  std::string without = plan;
  for (std::size_t at; (at = without.find("ml_jobs_counters")) != std::string::npos;) {
    without.erase(at, 16);
  }
  EXPECT_EQ(without.find("ml_jobs"), std::string::npos) << plan;
}

INSTANTIATE_TEST_SUITE_P(Backends, StatsCountersTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace mljobs::testing

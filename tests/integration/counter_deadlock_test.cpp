// PostgreSQL counter triggers under concurrent writers that share counter rows: backends
// whose pids are equal mod 16 write the same shard, and each statement upserts many
// counter rows (migration 0007 takes them in key order). Batch inserts, claims,
// completions and cancels run at once on such connections: none may deadlock, and the
// counters must still equal what ml_jobs_contributions computes over the table.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/test_backends.hpp"

namespace mljobs::testing {
namespace {

using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;

constexpr int kWriters = 6;
constexpr int kStatementsPerWriter = 120;
constexpr int kShards = 16;  // pg_backend_pid() % 16 in ml_jobs_apply_counts

// Opens connections until kWriters of them share one shard (pid mod 16).
std::vector<Conn> SameShardConnections(const std::string& url) {
  std::map<int, std::vector<Conn>> by_shard;
  for (int opened = 0; opened < 8 * kShards; ++opened) {
    Conn conn(PQconnectdb(url.c_str()), &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      ADD_FAILURE() << PQerrorMessage(conn.get());
      return {};
    }
    std::vector<Conn>& group = by_shard[PQbackendPID(conn.get()) % kShards];
    group.push_back(std::move(conn));
    if (group.size() == kWriters) return std::move(group);
  }
  ADD_FAILURE() << "no " << kWriters << " connections on one shard";
  return {};
}

// One statement; returns "" or the error with its SQLSTATE.
std::string Exec(PGconn* conn, const std::string& sql) {
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn, sql.c_str()), &PQclear);
  ExecStatusType status = PQresultStatus(result.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return "";
  const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
  return std::string(state ? state : "?????") + " " + PQerrorMessage(conn);
}

// What one writer sends: statements that each change many counter rows (many models,
// many hours), in an order of its own.
std::string NextStatement(std::mt19937& rng) {
  const std::string n = std::to_string(5 + rng() % 20);
  switch (rng() % 4) {
    case 0:  // batch insert: jobs per (pending, model) and created per hour
      return "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, created_at, "
             "updated_at, run_after) SELECT gen_random_uuid(), 'o', 'm' || (random() * 9)::int, "
             "'x', 'pending', t, t, t FROM (SELECT now() - (random() * 30)::int * interval '1 hour' AS t "
             "FROM generate_series(1, " + n + ")) AS g";
    case 1:  // claim
      return "UPDATE ml_jobs SET status = 'running', attempts = attempts + 1, "
             "started_at = now() - interval '1 minute', lease_token = gen_random_uuid(), "
             "lease_expires_at = now() + interval '1 minute' WHERE id = ANY(ARRAY(SELECT id "
             "FROM ml_jobs WHERE status = 'pending' ORDER BY priority DESC, created_at, id "
             "LIMIT " + n + " FOR UPDATE SKIP LOCKED))";
    case 2:  // complete: completed per hour, run-time buckets
      return "UPDATE ml_jobs SET status = 'completed', result_label = 'l', result_score = 1, "
             "completed_at = now() - (id % 20) * interval '1 hour' + (id % 97) * "
             "interval '1 second', lease_expires_at = NULL WHERE id = ANY(ARRAY(SELECT id FROM "
             "ml_jobs WHERE status = 'running' ORDER BY random() LIMIT " + n +
             " FOR UPDATE SKIP LOCKED))";
    default:  // cancel pending and running jobs
      return "UPDATE ml_jobs SET status = 'cancelled', completed_at = now(), "
             "lease_token = NULL, lease_expires_at = NULL WHERE id = ANY(ARRAY(SELECT id FROM "
             "ml_jobs WHERE status IN ('pending', 'running') ORDER BY random() LIMIT 3 "
             "FOR UPDATE SKIP LOCKED))";
  }
}

TEST(CounterDeadlockTest, ConcurrentWritersOnOneShardNeitherDeadlockNorMiscount) {
  if (auto why = BackendUnavailable(kPostgresqlBackend)) GTEST_SKIP() << *why;
  TestDatabase db(kPostgresqlBackend);
  {
    boost::asio::io_context io;
    OpenedStore store = OpenTestStore(db.url(), io);
    RunSync(io, store->Migrate());
  }
  std::vector<Conn> writers = SameShardConnections(db.url());
  ASSERT_EQ(writers.size(), static_cast<std::size_t>(kWriters));
  // Jobs in every (model, hour) first, so that claims and completions find work at once.
  ASSERT_EQ(Exec(writers[0].get(), "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, "
                                   "status, created_at, updated_at, run_after) SELECT "
                                   "gen_random_uuid(), 'o', 'm' || (g % 10), 'x', 'pending', "
                                   "t, t, t FROM "
                                   "(SELECT g, now() - (g % 30) * interval '1 hour' AS t FROM "
                                   "generate_series(1, 2000) AS g) AS s"),
            "");

  std::vector<std::string> errors(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(1000 + w);
      for (int i = 0; i < kStatementsPerWriter && errors[w].empty(); ++i) {
        errors[w] = Exec(writers[w].get(), NextStatement(rng));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int w = 0; w < kWriters; ++w) EXPECT_EQ(errors[w], "") << "writer " << w;

  // The counters, summed over shards, against the counting rules applied to every row.
  const std::string counted =
      "SELECT metric, status, model, hour, bucket, sum(jobs) AS jobs, sum(micros) AS micros "
      "FROM ml_jobs_counters WHERE archive_month = 0 "
      "GROUP BY metric, status, model, hour, bucket HAVING sum(jobs) <> 0 OR sum(micros) <> 0";
  const std::string expected =
      "SELECT x.metric, x.status, x.model, x.hour, x.bucket, count(*) AS jobs, "
      "sum(x.micros) AS micros FROM ml_jobs CROSS JOIN LATERAL ml_jobs_contributions(ROW(1, "
      "status, model, created_at, started_at, completed_at, updated_at, 0)::ml_jobs_stat_row) "
      "AS x GROUP BY x.metric, x.status, x.model, x.hour, x.bucket";
  auto differing = db.Query("SELECT count(*) FROM ((" + counted + " EXCEPT " + expected +
                            ") UNION ALL (" + expected + " EXCEPT " + counted + ")) AS d");
  EXPECT_EQ(differing.at(0).at(0), "0");
  auto statuses = db.Query("SELECT count(DISTINCT status) FROM ml_jobs");
  EXPECT_EQ(statuses.at(0).at(0), "4");  // every kind of statement changed rows
  auto shards = db.Query("SELECT count(DISTINCT shard) FROM ml_jobs_counters");
  EXPECT_EQ(shards.at(0).at(0), "1");  // the writers really shared their counter rows
}

}  // namespace
}  // namespace mljobs::testing

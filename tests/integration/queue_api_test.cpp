// The work queue over HTTP against a real server on each backend: claim and completion
// bodies and statement counts, lease checks (409 lease_lost / cancelled), a worker that dies
// mid-job (the reaper inside the server re-queues it), batched completion, long-poll
// wake-up, retry backoff, and bad input that is a 4xx naming the field and changes nothing.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "support/api_server.hpp"

namespace mljobs::testing {
namespace {

namespace json = boost::json;

class QueueApiTest : public ApiServerTest {
 protected:
  ApiServer& server() { return *server_; }

  std::string Submit(const std::string& model = "m", int priority = 0, int max_attempts = 3) {
    HttpResult r = server().Post(
        "/jobs", json::serialize(json::object{{"model", model},
                                              {"input_text", "great stuff"},
                                              {"priority", priority},
                                              {"max_attempts", max_attempts}}));
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(Json(r).at("id").as_string());
  }

  json::array Claim(const json::object& body, int expect_status = 200) {
    HttpResult r = server().Post("/queue/claim", json::serialize(body));
    EXPECT_EQ(r.status, expect_status) << r.body;
    if (r.status != 200) return {};
    return Json(r).at("jobs").as_array();
  }

  HttpResult Complete(const std::string& id, const std::string& token, const std::string& label = "pos") {
    return server().Post("/jobs/" + id + "/complete",
                         json::serialize(json::object{
                             {"lease_token", token}, {"result_label", label}, {"result_score", 0.5}}));
  }

  std::string Status(const std::string& id) {
    return std::string(Json(server().Get("/jobs/" + id)).at("status").as_string());
  }

  // Every row's state, to prove a rejected request changed nothing.
  std::vector<TestDatabase::Row> Snapshot() {
    return db_->Query(
        "SELECT job_uuid, status, attempts, lease_token, result_label, error, updated_at "
        "FROM ml_jobs ORDER BY id");
  }

  // One sample of GET /metrics (a metric without labels).
  double Metric(const std::string& name) {
    HttpResult r = server().Get("/metrics");
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string prefix = "\n" + name + " ";
    auto at = r.body.find(prefix);
    if (at == std::string::npos) {
      ADD_FAILURE() << name << " is not in /metrics";
      return -1;
    }
    return std::stod(r.body.substr(at + prefix.size()));
  }

  // Polls /metrics until `name` reads `value` (the server's own view of its queue).
  void AwaitMetric(const std::string& name, double value) {
    for (int i = 0; i < 2000 && Metric(name) != value; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_EQ(Metric(name), value) << name;
  }

  static std::string Code(const HttpResult& r) {
    return std::string(Json(r).at("error").at("code").as_string());
  }
  static std::string Message(const HttpResult& r) {
    return std::string(Json(r).at("error").at("message").as_string());
  }
};

TEST_P(QueueApiTest, ClaimHeartbeatComplete) {
  std::string low = Submit("m", 0);
  std::string high = Submit("m", 9);
  HttpResult r = server().Post("/queue/claim", R"({"worker":"w1","limit":10,"lease_seconds":30})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-db-statements"), "1");
  json::array jobs = Json(r).at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].at("id").as_string(), high);  // priority first
  EXPECT_EQ(jobs[1].at("id").as_string(), low);
  EXPECT_EQ(jobs[0].at("status"), "running");
  EXPECT_EQ(jobs[0].at("attempts"), 1);
  EXPECT_EQ(jobs[0].at("worker"), "w1");
  EXPECT_EQ(jobs[0].at("input_text"), "great stuff");
  const std::string token = std::string(jobs[0].at("lease_token").as_string());
  EXPECT_EQ(token.size(), 36u);

  HttpResult beat = server().Post("/jobs/" + high + "/heartbeat",
                                  json::serialize(json::object{{"lease_token", token}}));
  EXPECT_EQ(beat.status, 200) << beat.body;
  EXPECT_EQ(beat.Header("x-db-statements"), "1");

  HttpResult done = Complete(high, token);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.Header("x-db-statements"), "1");
  EXPECT_EQ(Json(done).at("status"), "completed");
  EXPECT_EQ(Json(done).at("result_label"), "pos");
  EXPECT_EQ(Json(done).at("result_score"), 0.5);

  // The same completion again is idempotent: 200 with the stored result.
  HttpResult again = Complete(high, token, "other");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(again).at("result_label"), "pos");
  // Heartbeat after completion: the lease is gone.
  HttpResult late = server().Post("/jobs/" + high + "/heartbeat",
                                  json::serialize(json::object{{"lease_token", token}}));
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(Code(late), "lease_lost");
  // Another job's token does not hold this job.
  HttpResult wrong = Complete(low, token);
  EXPECT_EQ(wrong.status, 409);
  EXPECT_EQ(Code(wrong), "lease_lost");
  EXPECT_EQ(Status(low), "running");
}

TEST_P(QueueApiTest, CancelledRunningJobAnswers409Cancelled) {
  std::string id = Submit();
  json::array jobs = Claim({{"worker", "w1"}});
  ASSERT_EQ(jobs.size(), 1u);
  std::string token(jobs[0].at("lease_token").as_string());
  ASSERT_EQ(server().Post("/jobs/" + id + "/cancel", "").status, 200);
  HttpResult beat = server().Post("/jobs/" + id + "/heartbeat",
                                  json::serialize(json::object{{"lease_token", token}}));
  EXPECT_EQ(beat.status, 409);
  EXPECT_EQ(Code(beat), "cancelled");
  HttpResult done = Complete(id, token);
  EXPECT_EQ(done.status, 409);
  EXPECT_EQ(Code(done), "cancelled");
  EXPECT_EQ(Status(id), "cancelled");
}

TEST_P(QueueApiTest, KilledWorkersJobIsLeasedAgainAndItsLateCompleteIs409) {
  std::string id = Submit();
  json::array dead = Claim({{"worker", "dead"}, {"lease_seconds", 1}});
  ASSERT_EQ(dead.size(), 1u);
  std::string dead_token(dead[0].at("lease_token").as_string());
  // The worker is gone; the server's reaper (every second) returns the job once the lease
  // expires. Bounded wait against a hang, not a timing assertion.
  json::array again;
  for (int i = 0; i < 100 && again.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    again = Claim({{"worker", "alive"}});
  }
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].at("id").as_string(), id);
  EXPECT_EQ(again[0].at("attempts"), 2);
  EXPECT_EQ(again[0].at("error"), "lease expired");
  std::string token(again[0].at("lease_token").as_string());
  EXPECT_NE(token, dead_token);
  HttpResult late = Complete(id, dead_token);
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(Code(late), "lease_lost");
  EXPECT_EQ(Complete(id, token).status, 200);
  EXPECT_EQ(Status(id), "completed");
}

TEST_P(QueueApiTest, FailRetriesWithBackoffThenFails) {
  std::string id = Submit("m", 0, 2);
  json::array first = Claim({{"worker", "w1"}});
  ASSERT_EQ(first.size(), 1u);
  HttpResult failed = server().Post(
      "/jobs/" + id + "/fail",
      json::serialize(json::object{{"lease_token", first[0].at("lease_token")}, {"error", "oom"}}));
  ASSERT_EQ(failed.status, 200) << failed.body;
  EXPECT_EQ(Json(failed).at("status"), "pending");
  EXPECT_EQ(Json(failed).at("error"), "oom");
  // First retry: run_after = updated_at + 1 s (kBackoffBase).
  auto rows = db_->Query(GetParam() == "sqlite"
                             ? "SELECT run_after - updated_at FROM ml_jobs"
                             : "SELECT (extract(epoch FROM run_after - updated_at) * 1000000)::bigint FROM ml_jobs");
  EXPECT_EQ(rows.at(0).at(0), "1000000");
  // Not runnable yet: an immediate claim finds nothing.
  EXPECT_TRUE(Claim({{"worker", "w1"}}).empty());
  json::array second;
  for (int i = 0; i < 50 && second.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    second = Claim({{"worker", "w1"}});
  }
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].at("attempts"), 2);
  HttpResult last = server().Post(
      "/jobs/" + id + "/fail",
      json::serialize(json::object{{"lease_token", second[0].at("lease_token")}, {"error", "oom again"}}));
  ASSERT_EQ(last.status, 200);
  EXPECT_EQ(Json(last).at("status"), "failed");
  EXPECT_EQ(Json(last).at("error"), "oom again");
}

TEST_P(QueueApiTest, ModelsFilter) {
  std::string a = Submit("model-a");
  std::string b = Submit("model-b");
  json::array jobs = Claim({{"worker", "w"}, {"limit", 10}, {"models", json::array{"model-b"}}});
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].at("id").as_string(), b);
  EXPECT_EQ(Status(a), "pending");
}

TEST_P(QueueApiTest, BatchCompleteAnswersPerJobInOneStatement) {
  for (int i = 0; i < 3; ++i) Submit();
  json::array jobs = Claim({{"worker", "w"}, {"limit", 3}});
  ASSERT_EQ(jobs.size(), 3u);
  json::array results;
  for (const auto& job : jobs) {
    results.push_back(json::object{{"id", job.at("id")},
                                   {"lease_token", job.at("lease_token")},
                                   {"result_label", "ok"},
                                   {"result_score", 1}});
  }
  HttpResult r = server().Post("/queue/complete", json::serialize(json::object{{"results", results}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-db-statements"), "1");
  EXPECT_EQ(Json(r).at("completed"), 3);
  EXPECT_EQ(Json(r).at("failed"), 0);
  for (const auto& job : jobs) EXPECT_EQ(Status(std::string(job.at("id").as_string())), "completed");
  // A stale token among them is answered per job; the others' repeats stay completed.
  results[1].as_object()["lease_token"] = "01890000-0000-4000-8000-000000000000";
  HttpResult mixed = server().Post("/queue/complete", json::serialize(json::object{{"results", results}}));
  ASSERT_EQ(mixed.status, 200) << mixed.body;
  json::array answers = Json(mixed).at("results").as_array();
  EXPECT_EQ(answers[0].at("status"), "completed");
  EXPECT_EQ(answers[1].at("status"), "lease_lost");
  EXPECT_EQ(answers[1].at("id"), jobs[1].at("id"));
  EXPECT_EQ(answers[2].at("status"), "completed");
}

// Another session holding the database's write path: a row lock on PostgreSQL, the write
// lock on SQLite (shorter than the server's 2 s busy timeout in this test).
class WriteBlocker {
 public:
  // `pg_lock`: the statement that takes the lock the write needs on PostgreSQL.
  WriteBlocker(const TestDatabase& db, const std::string& pg_lock) {
    if (db.backend() == "postgresql") {
      pg_.reset(PQconnectdb(db.url().c_str()));
      Exec("BEGIN");
      Exec(pg_lock);
    } else {
      sqlite3* handle = nullptr;
      EXPECT_EQ(sqlite3_open(db.sqlite_path().c_str(), &handle), SQLITE_OK);
      sqlite_.reset(handle);
      EXPECT_EQ(sqlite3_exec(handle, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    }
  }
  void Release() {
    if (pg_) Exec("COMMIT");
    if (sqlite_) {
      EXPECT_EQ(sqlite3_exec(sqlite_.get(), "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    }
  }

 private:
  void Exec(const std::string& sql) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(pg_.get(), sql.c_str()), &PQclear);
    EXPECT_TRUE(PQresultStatus(r.get()) == PGRES_COMMAND_OK ||
                PQresultStatus(r.get()) == PGRES_TUPLES_OK)
        << PQerrorMessage(pg_.get());
  }
  std::unique_ptr<PGconn, decltype(&PQfinish)> pg_{nullptr, &PQfinish};
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> sqlite_{nullptr, &sqlite3_close};
};

// Completions that arrive while one is being written wait and are then written together:
// 1 + 4 single completions + a POST /queue/complete of 4 take exactly two statements, and
// each caller still gets its own answer (a single one its job).
TEST_P(QueueApiTest, ConcurrentCompletionsAreWrittenTogether) {
  for (int i = 0; i < 9; ++i) Submit();
  json::array jobs = Claim({{"worker", "w"}, {"limit", 9}});
  ASSERT_EQ(jobs.size(), 9u);
  auto id = [&](std::size_t i) { return std::string(jobs[i].at("id").as_string()); };
  auto token = [&](std::size_t i) { return std::string(jobs[i].at("lease_token").as_string()); };
  auto result = [&](std::size_t i) {
    return json::object{{"lease_token", token(i)},
                        {"result_label", "label-" + std::to_string(i)},
                        {"result_score", 0.5}};
  };
  auto send = [&](std::string target, json::object body) {
    return std::async(std::launch::async, [&, target, body] {
      HttpConnection connection(server().port(), std::chrono::seconds(30));
      return connection.Send("POST", target, json::serialize(body));
    });
  };
  const double writes = Metric("mljobs_queue_completion_writes_total");

  WriteBlocker blocker(*db_, "SELECT 1 FROM ml_jobs WHERE job_uuid = '" + id(0) + "' FOR UPDATE");
  std::vector<std::future<HttpResult>> singles;
  singles.push_back(send("/jobs/" + id(0) + "/complete", result(0)));
  AwaitMetric("mljobs_queue_completions_writing", 1);  // job 0's write waits on the lock
  for (std::size_t i = 1; i < 5; ++i)
    singles.push_back(send("/jobs/" + id(i) + "/complete", result(i)));
  json::array batch;
  for (std::size_t i = 5; i < 9; ++i) {
    json::object entry = result(i);
    entry["id"] = id(i);
    batch.push_back(entry);
  }
  std::future<HttpResult> batched = send("/queue/complete", json::object{{"results", batch}});
  AwaitMetric("mljobs_queue_completions_waiting", 8);
  blocker.Release();

  for (std::size_t i = 0; i < 5; ++i) {
    HttpResult r = singles[i].get();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("x-db-statements"), "1");
    json::value job = Json(r);
    EXPECT_EQ(job.at("id").as_string(), id(i));
    EXPECT_EQ(job.at("status"), "completed");
    EXPECT_EQ(job.at("result_label").as_string(), "label-" + std::to_string(i));
  }
  HttpResult r = batched.get();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-db-statements"), "1");
  EXPECT_EQ(Json(r).at("completed"), 4);
  for (std::size_t i = 0; i < 9; ++i) EXPECT_EQ(Status(id(i)), "completed");
  EXPECT_EQ(Metric("mljobs_queue_completion_writes_total"), writes + 2);
  EXPECT_EQ(Metric("mljobs_queue_completions_waiting"), 0);
  // A repeat of one of them is answered alike, and a stale token still gets 409.
  HttpResult repeat = Complete(id(4), token(4), "label-4");
  EXPECT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_EQ(Complete(id(5), token(4)).status, 409);
}

// Claims that arrive while one is being written wait and are then leased together: 1 + 8
// claims take exactly two statements, and each caller gets its own jobs, in claim order,
// under its own worker name; no job goes to two claims.
TEST_P(QueueApiTest, ConcurrentClaimsAreWrittenTogether) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(Submit());
  auto send = [&](int w) {
    return std::async(std::launch::async, [&, w] {
      HttpConnection connection(server().port(), std::chrono::seconds(30));
      return connection.Send(
          "POST", "/queue/claim",
          json::serialize(json::object{{"worker", "w" + std::to_string(w)}, {"limit", 2}}));
    });
  };
  const double writes = Metric("mljobs_queue_claim_writes_total");

  // A claim's FOR UPDATE needs ROW SHARE on the queue table, which EXCLUSIVE holds off.
  WriteBlocker blocker(*db_, "LOCK TABLE ml_jobs_queue IN EXCLUSIVE MODE");
  std::vector<std::future<HttpResult>> answers;
  answers.push_back(send(0));
  AwaitMetric("mljobs_queue_claims_writing", 1);  // claim 0's write waits on the lock
  for (int w = 1; w < 9; ++w) answers.push_back(send(w));
  AwaitMetric("mljobs_queue_claims_queued", 8);
  blocker.Release();

  std::vector<std::vector<std::string>> got(9);
  std::multiset<std::string> all;
  for (int w = 0; w < 9; ++w) {
    SCOPED_TRACE(w);
    HttpResult r = answers[w].get();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("x-db-statements"), "1");
    const json::value body = Json(r);
    for (const json::value& job : body.at("jobs").as_array()) {
      EXPECT_EQ(job.at("worker").as_string(), "w" + std::to_string(w));
      EXPECT_EQ(job.at("status"), "running");
      got[w].push_back(std::string(job.at("id").as_string()));
      all.insert(got[w].back());
    }
    ASSERT_EQ(got[w].size(), 2u);
  }
  EXPECT_EQ(Metric("mljobs_queue_claim_writes_total"), writes + 2);
  // The first claim took the two oldest jobs; the eight after it the next sixteen, each
  // claim two of them in claim order, none twice.
  EXPECT_EQ(got[0], (std::vector<std::string>{ids[0], ids[1]}));
  EXPECT_EQ(all, std::multiset<std::string>(ids.begin(), ids.begin() + 18));
  for (int w = 1; w < 9; ++w) {
    auto first = std::find(ids.begin(), ids.end(), got[w][0]);
    auto second = std::find(ids.begin(), ids.end(), got[w][1]);
    EXPECT_LT(first, second);
  }
  EXPECT_EQ(Status(ids[18]), "pending");
  EXPECT_EQ(Status(ids[19]), "pending");
}

TEST_P(QueueApiTest, LongPollWakesWhenAJobIsSubmitted) {
  // The claim waits up to 20 s. If the wake-up were lost it would time out and answer no
  // jobs, so one job in the answer proves it was woken by the submit.
  auto waiting = std::async(std::launch::async, [&] {
    HttpConnection connection(server().port(), std::chrono::seconds(30));
    return connection.Send("POST", "/queue/claim", R"({"worker":"w","limit":5,"wait_seconds":20})");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string id = Submit();
  HttpResult r = waiting.get();
  ASSERT_EQ(r.status, 200) << r.body;
  json::array jobs = Json(r).at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].at("id").as_string(), id);
}

TEST_P(QueueApiTest, BadInputIs4xxNamingTheFieldAndChangesNothing) {
  std::string id = Submit();
  json::array jobs = Claim({{"worker", "w"}});
  ASSERT_EQ(jobs.size(), 1u);
  std::string token(jobs[0].at("lease_token").as_string());
  Submit();  // one pending job a bad claim must not take
  const auto before = Snapshot();

  struct Case {
    std::string target, body;
    int status;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {"/queue/claim", R"({"worker":"w","limit":0})", 400, "limit"},
      {"/queue/claim", R"({"worker":"w","limit":1001})", 400, "limit"},
      {"/queue/claim", R"({"limit":1})", 400, "worker"},
      {"/queue/claim", R"({"worker":"w","lease_seconds":0})", 400, "lease_seconds"},
      {"/queue/claim", R"({"worker":"w","wait_seconds":61})", 400, "wait_seconds"},
      {"/queue/claim", R"({"worker":"w","models":["bad model!"]})", 400, "models[0]"},
      {"/queue/claim", R"({"worker":"w","limt":5})", 400, "limt"},
      {"/queue/claim", R"({"worker":"w","limit":"5"})", 400, "limit"},
      {"/queue/claim", "not json", 400, "JSON"},
      {"/jobs/" + id + "/complete", R"({"result_label":"x","result_score":1})", 400, "lease_token"},
      {"/jobs/" + id + "/complete", "{\"lease_token\":\"" + token + "\",\"result_score\":1}", 400,
       "result_label"},
      {"/jobs/" + id + "/complete", "{\"lease_token\":\"" + token + "\",\"result_label\":\"x\"}",
       400, "result_score"},
      {"/jobs/" + id + "/complete", R"({"lease_token":"nope","result_label":"x","result_score":1})",
       400, "lease_token"},
      {"/jobs/" + id + "/complete",
       R"({"lease_token":"01890000-0000-4000-8000-000000000000","result_label":"x","result_score":1})",
       409, "lease_token"},
      {"/jobs/01890000-0000-7000-8000-000000000000/complete",
       "{\"lease_token\":\"" + token + "\",\"result_label\":\"x\",\"result_score\":1}", 404, "no job"},
      {"/jobs/not-a-uuid/heartbeat", "{\"lease_token\":\"" + token + "\"}", 404, "no job"},
      {"/jobs/" + id + "/fail", "{\"lease_token\":\"" + token + "\"}", 400, "error"},
      {"/jobs/" + id + "/fail", "{\"lease_token\":\"" + token + "\",\"error\":\"e\",\"retry\":1}", 400,
       "retry"},
      {"/queue/complete", R"({"results":[]})", 400, "results"},
      {"/queue/complete", R"({"results":[{"id":"x","lease_token":"01890000-0000-4000-8000-000000000000","result_label":"a","result_score":1}]})",
       400, "results[0].id"},
      {"/queue/complete",
       "{\"results\":[{\"id\":\"" + id + "\",\"lease_token\":\"" + token +
           "\",\"result_label\":\"a\",\"result_score\":1},{\"id\":\"" + id + "\",\"lease_token\":\"" +
           token + "\",\"result_label\":\"a\",\"result_score\":1}]}",
       400, "results[1].id"},
  };
  for (const Case& c : cases) {
    HttpResult r = server().Post(c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.target << " " << c.body << " -> " << r.body;
    EXPECT_NE(Message(r).find(c.mentions), std::string::npos) << c.body << " -> " << r.body;
  }
  json::array many;
  for (int i = 0; i < 1001; ++i) {
    many.push_back(json::object{{"id", id}, {"lease_token", token}, {"result_label", "a"}, {"result_score", 1}});
  }
  HttpResult too_many = server().Post("/queue/complete", json::serialize(json::object{{"results", many}}));
  EXPECT_EQ(too_many.status, 400);
  EXPECT_NE(Message(too_many).find("1000"), std::string::npos);
  EXPECT_EQ(Snapshot(), before);
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueApiTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace mljobs::testing

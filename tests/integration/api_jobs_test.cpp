// The job API end to end over HTTP, against a real server on each backend: statuses,
// bodies, statement counts, exactly-once keyset paging, export, and that bad input is a
// 4xx that changes nothing.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <set>

#include "support/api_server.hpp"
#include "support/tcp_proxy.hpp"

namespace mljobs::testing {
namespace {

namespace json = boost::json;

class ApiJobsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (auto why = BackendUnavailable(GetParam())) GTEST_SKIP() << *why;
    db_ = std::make_unique<TestDatabase>(GetParam());
  }

  // Starts the server on first use, so a test can choose its options first.
  ApiServer& server(cli::AppOptions options = {}) {
    if (!server_) server_ = std::make_unique<ApiServer>(*db_, std::move(options));
    return *server_;
  }

  std::int64_t RowCount() {
    return std::stoll(*db_->Query("SELECT count(*) FROM ml_jobs")[0][0]);
  }

  // Submits `n` jobs in one batch (one shared created_at); models alternate m0, m1, m2.
  std::vector<std::string> SubmitBatch(int n, const std::string& text = "hello") {
    json::array jobs;
    for (int i = 0; i < n; ++i) {
      jobs.push_back(json::object{{"model", "m" + std::to_string(i % 3)},
                                  {"input_text", text + " " + std::to_string(i)}});
    }
    HttpResult r = server().Post("/jobs/batch", json::serialize(json::object{{"jobs", jobs}}));
    EXPECT_EQ(r.status, 201) << r.body;
    std::vector<std::string> ids;
    json::value body = Json(r);
    for (const auto& id : body.at("ids").as_array()) ids.emplace_back(id.as_string());
    return ids;
  }

  // Job ids in the order the database itself gives for `where` and `order`: the truth a
  // paged walk must reproduce.
  std::vector<std::string> ExpectedIds(const std::string& where, const std::string& order) {
    std::vector<std::string> out;
    for (const auto& row : db_->Query("SELECT job_uuid FROM ml_jobs " + where +
                                      " ORDER BY created_at " + order + ", id " + order)) {
      out.push_back(*row[0]);
    }
    return out;
  }

  // Walks every page of GET /jobs?<query>, checking each read ran one statement.
  std::vector<std::string> PageThrough(const std::string& query, int limit) {
    std::vector<std::string> seen;
    std::string cursor;
    for (int pages = 0; pages < 100'000; ++pages) {
      std::string target = "/jobs?limit=" + std::to_string(limit) + "&fields=id" +
                           (query.empty() ? "" : "&" + query) +
                           (cursor.empty() ? "" : "&cursor=" + cursor);
      HttpResult r = server().Get(target);
      EXPECT_EQ(r.status, 200) << target << " -> " << r.body;
      if (r.status != 200) break;
      EXPECT_EQ(r.Header("x-db-statements"), "1");
      json::value page = Json(r);
      for (const auto& job : page.at("jobs").as_array()) {
        seen.emplace_back(job.at("id").as_string());
        EXPECT_EQ(job.as_object().size(), 1u);  // fields=id
      }
      if (!page.at("has_more").as_bool()) {
        EXPECT_TRUE(page.at("next_cursor").is_null());
        break;
      }
      cursor = std::string(page.at("next_cursor").as_string());
    }
    return seen;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<ApiServer> server_;
};

TEST_P(ApiJobsTest, SubmitGetAndCancel) {
  HttpResult created = server().Post(
      "/jobs", R"({"model":"sentiment-v1","input_text":"I love it","priority":7,"metadata":{"src":"web"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("x-db-statements"), "1");
  json::object job = Json(created).as_object();
  std::string id(job.at("id").as_string());
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7');  // UUIDv7
  EXPECT_EQ(job.at("status"), "pending");
  EXPECT_EQ(job.at("model"), "sentiment-v1");
  EXPECT_EQ(job.at("input_text"), "I love it");
  EXPECT_EQ(job.at("priority"), 7);
  EXPECT_EQ(job.at("metadata"), (json::object{{"src", "web"}}));
  EXPECT_EQ(job.at("attempts"), 0);
  EXPECT_EQ(job.at("max_attempts"), 3);
  EXPECT_TRUE(job.at("result_label").is_null());
  EXPECT_TRUE(std::regex_match(std::string(job.at("created_at").as_string()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")));

  HttpResult got = server().Get("/jobs/" + id);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Json(got), json::value(job));
  EXPECT_EQ(got.Header("x-db-statements"), "1");
  EXPECT_TRUE(std::regex_match(got.Header("server-timing").value_or(""),
                               std::regex(R"(db;dur=\d+\.\d{3}, app;dur=\d+\.\d{3})")))
      << got.Header("server-timing").value_or("(none)");

  // Upper-case ids are the same id.
  std::string upper = id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(server().Get("/jobs/" + upper).status, 200);

  HttpResult cancelled = server().Post("/jobs/" + id + "/cancel", "");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(Json(cancelled).at("status"), "cancelled");
  EXPECT_FALSE(Json(cancelled).at("completed_at").is_null());

  HttpResult again = server().Post("/jobs/" + id + "/cancel", "");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Json(again).at("error").at("code"), "not_cancellable");

  db_->Query("UPDATE ml_jobs SET status = 'completed'");
  EXPECT_EQ(server().Post("/jobs/" + id + "/cancel", "").status, 409);
  EXPECT_EQ(Json(server().Get("/jobs/" + id)).at("status"), "completed");

  EXPECT_EQ(server().Get("/jobs/018bcfe5-6a7b-7000-8000-00000000abcd").status, 404);
  EXPECT_EQ(server().Get("/jobs/not-a-uuid").status, 404);
  EXPECT_EQ(server().Post("/jobs/018bcfe5-6a7b-7000-8000-00000000abcd/cancel", "").status, 404);
}

TEST_P(ApiJobsTest, ReadsRunExactlyOneStatement) {
  auto ids = SubmitBatch(120);
  EXPECT_EQ(server().Get("/jobs/" + ids[5]).Header("x-db-statements"), "1");
  for (std::string q : {"?limit=10", "?limit=10&status=pending", "?limit=10&status=pending,running,failed",
                        "?limit=10&model=m1", "?limit=10&order=asc&fields=id,input_text,metadata",
                        "?limit=10&created_after=2000-01-01T00:00:00Z&created_before=2999-01-01T00:00:00Z"}) {
    HttpResult r = server().Get("/jobs" + q);
    EXPECT_EQ(r.status, 200) << q << r.body;
    EXPECT_EQ(r.Header("x-db-statements"), "1") << q;
    std::string cursor(Json(r).at("next_cursor").as_string());
    HttpResult next = server().Get("/jobs" + q + "&cursor=" + cursor);
    EXPECT_EQ(next.status, 200) << q << next.body;
    EXPECT_EQ(next.Header("x-db-statements"), "1") << q;
  }
  // Counting is a second statement, and only when asked.
  HttpResult counted = server().Get("/jobs?count=exact&status=pending");
  EXPECT_EQ(counted.Header("x-db-statements"), "2");
  EXPECT_EQ(Json(counted).at("total"), 120);
  EXPECT_EQ(Json(counted).at("total_is_estimate"), false);
  HttpResult estimated = server().Get("/jobs?count=estimated");
  EXPECT_EQ(Json(estimated).at("total_is_estimate"), true);
  EXPECT_GE(Json(estimated).at("total").as_int64(), 0);
}

TEST_P(ApiJobsTest, FieldsSelectWhatIsReturned) {
  SubmitBatch(3);
  json::object light = Json(server().Get("/jobs?limit=1")).at("jobs").at(0).as_object();
  EXPECT_FALSE(light.contains("input_text"));
  EXPECT_FALSE(light.contains("metadata"));
  EXPECT_TRUE(light.contains("status"));
  json::object chosen =
      Json(server().Get("/jobs?limit=1&fields=status,input_text")).at("jobs").at(0).as_object();
  EXPECT_EQ(chosen.size(), 3u);  // id, status, input_text
  EXPECT_EQ(chosen.at("input_text"), "hello 2");
}

TEST_P(ApiJobsTest, BatchIsAllOrNothing) {
  HttpResult ok = server().Post(
      "/jobs/batch", R"({"jobs":[{"model":"m","input_text":"a"},{"model":"m","input_text":"b","priority":3}]})");
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(Json(ok).at("count"), 2);
  EXPECT_EQ(ok.Header("x-db-statements"), "1");
  EXPECT_EQ(RowCount(), 2);

  HttpResult bad = server().Post(
      "/jobs/batch", R"({"jobs":[{"model":"m","input_text":"a"},{"model":"m","input_text":""},{"model":"m","input_text":"c"}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(Json(bad).at("error").at("message").as_string().find("jobs[1].input_text"),
            json::string::npos);
  EXPECT_EQ(RowCount(), 2);
}

TEST_P(ApiJobsTest, BadInputIsA4xxAndChangesNothing) {
  std::string id = std::string(Json(server().Post("/jobs", R"({"model":"m","input_text":"x"})")).at("id").as_string());
  const std::string before = server().Get("/jobs/" + id).body;
  std::string too_many = R"({"jobs":[)";
  for (int i = 0; i < 10'001; ++i) too_many += std::string(i ? "," : "") + R"({"model":"m","input_text":"a"})";
  too_many += "]}";
  struct Case {
    std::string method, target, body;
    int status;
    std::string code;
  };
  std::vector<Case> cases = {
      {"POST", "/jobs", "{not json", 400, "invalid_argument"},
      {"POST", "/jobs", "[1,2]", 400, "invalid_argument"},
      {"POST", "/jobs", "", 400, "invalid_argument"},
      {"POST", "/jobs", R"({"input_text":"x"})", 400, "invalid_argument"},
      {"POST", "/jobs", R"({"model":"m"})", 400, "invalid_argument"},
      {"POST", "/jobs", R"({"model":1,"input_text":"x"})", 400, "invalid_argument"},
      {"POST", "/jobs", R"({"model":"m","input_text":"x","priority":"1"})", 400, "invalid_argument"},
      {"POST", "/jobs", R"({"model":"m","input_text":")" + std::string(70'000, 'a') + "\"}", 400, "invalid_argument"},
      {"POST", "/jobs/batch", too_many, 400, "invalid_argument"},
      {"POST", "/jobs/batch", R"({"jobs":{}})", 400, "invalid_argument"},
      {"GET", "/jobs?limit=0", "", 400, "invalid_argument"},
      {"GET", "/jobs?limit=-5", "", 400, "invalid_argument"},
      {"GET", "/jobs?limit=ten", "", 400, "invalid_argument"},
      {"GET", "/jobs?limit=1001", "", 400, "invalid_argument"},
      {"GET", "/jobs?status=finished", "", 400, "invalid_argument"},
      {"GET", "/jobs?fields=id,secret", "", 400, "invalid_argument"},
      {"GET", "/jobs?created_after=2026-02-30T00:00:00Z", "", 400, "invalid_argument"},
      {"GET", "/jobs?created_before=last%20week", "", 400, "invalid_argument"},
      {"GET", "/jobs?order=sideways", "", 400, "invalid_argument"},
      {"GET", "/jobs?cursor=garbage", "", 400, "invalid_cursor"},
      {"GET", "/jobs/export?status=nope", "", 400, "invalid_argument"},
      {"GET", "/nowhere", "", 404, "not_found"},
      {"DELETE", "/jobs/" + id, "", 405, "method_not_allowed"},
      {"GET", "/jobs/" + id + "/cancel", "", 405, "method_not_allowed"},
  };
  for (const auto& c : cases) {
    HttpResult r = Send(server().port(), c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target.substr(0, 60) << " -> " << r.body.substr(0, 200);
    json::value body = Json(r);
    EXPECT_EQ(body.at("error").at("code"), json::value(c.code)) << c.target.substr(0, 60);
    EXPECT_FALSE(body.at("error").at("message").as_string().empty());
  }
  // Oversize body, headers and URL never reach a handler.
  RawResult big = SendRaw(server().port(),
                          "POST /jobs HTTP/1.1\r\nHost: t\r\nContent-Length: 40000000\r\n\r\n{");
  EXPECT_EQ(RawStatus(big.data), 413);
  RawResult header = SendRaw(server().port(), "GET /jobs HTTP/1.1\r\nHost: t\r\nX-Big: " +
                                                  std::string(20'000, 'h') + "\r\n\r\n");
  EXPECT_EQ(RawStatus(header.data), 431);
  RawResult url = SendRaw(server().port(),
                          "GET /jobs?model=" + std::string(20'000, 'u') + " HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_TRUE(RawStatus(url.data) == 414 || RawStatus(url.data) == 431) << url.data.substr(0, 100);

  EXPECT_EQ(RowCount(), 1);
  EXPECT_EQ(server().Get("/jobs/" + id).body, before);
}

TEST_P(ApiJobsTest, CursorsAreCheckedAgainstTheirFilter) {
  SubmitBatch(30);
  std::string cursor(Json(server().Get("/jobs?limit=5&status=pending")).at("next_cursor").as_string());
  EXPECT_EQ(server().Get("/jobs?limit=5&status=pending&cursor=" + cursor).status, 200);
  auto expect_rejected = [&](const std::string& target) {
    HttpResult r = server().Get(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(Json(r).at("error").at("code"), "invalid_cursor") << target;
  };
  expect_rejected("/jobs?limit=5&cursor=" + cursor);                        // another filter
  expect_rejected("/jobs?limit=5&status=pending&order=asc&cursor=" + cursor);  // another order
  expect_rejected("/jobs?limit=5&status=pending&model=m1&cursor=" + cursor);
  expect_rejected("/jobs?limit=5&status=pending&cursor=" + cursor.substr(0, cursor.size() - 3));
  std::string tampered = cursor;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  expect_rejected("/jobs?limit=5&status=pending&cursor=" + tampered);
  expect_rejected("/jobs?status=pending&cursor=" + std::string(300, 'A'));
  expect_rejected("/jobs?status=pending&cursor=%00%01");
}

// 10,000 jobs in batches (every batch shares one created_at: 2,000 in the first, 1,000 in
// each other), walked with an odd page size: each job exactly once, in the database's own
// order, both ways, with and without filters.
TEST_P(ApiJobsTest, PagingReturnsEveryJobExactlyOnceInOrder) {
  SubmitBatch(2000);
  for (int i = 0; i < 8; ++i) SubmitBatch(1000);
  db_->Query("UPDATE ml_jobs SET status = 'completed' WHERE id % 3 = 0");
  db_->Query("UPDATE ml_jobs SET status = 'failed' WHERE id % 7 = 0");
  ASSERT_EQ(RowCount(), 10'000);
  auto check = [&](const std::string& query, const std::string& where) {
    for (std::string order : {"desc", "asc"}) {
      std::string q = "order=" + order + (query.empty() ? "" : "&" + query);
      std::vector<std::string> expected = ExpectedIds(where, order);
      std::vector<std::string> seen = PageThrough(q, 333);
      EXPECT_EQ(seen.size(), expected.size()) << q;
      EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << q;
      EXPECT_TRUE(seen == expected) << q;
    }
  };
  check("", "");
  check("status=completed", "WHERE status = 'completed'");
  check("status=failed,pending", "WHERE status IN ('failed', 'pending')");
  check("model=m2", "WHERE model = 'm2'");
  // A date range from the 3rd batch (asc offset 3,000) up to the 7th (offset 7,000), with
  // the times as the API prints them.
  auto batch_start = [&](int offset) {
    std::string uuid = *db_->Query("SELECT job_uuid FROM ml_jobs ORDER BY created_at, id LIMIT 1 OFFSET " +
                                   std::to_string(offset))[0][0];
    std::string time(Json(server().Get("/jobs/" + uuid)).at("created_at").as_string());
    return std::make_pair(time, "(SELECT created_at FROM ml_jobs WHERE job_uuid = '" + uuid + "')");
  };
  auto [after, after_sql] = batch_start(3000);
  auto [before, before_sql] = batch_start(7000);
  const std::string lo_where = "created_at >= " + after_sql;
  const std::string hi_where = "created_at < " + before_sql;
  ASSERT_EQ(ExpectedIds("WHERE " + lo_where + " AND " + hi_where, "asc").size(), 4000u);
  check("created_after=" + UrlEncode(after) + "&created_before=" + UrlEncode(before),
        "WHERE " + lo_where + " AND " + hi_where);
  check("status=completed&created_after=" + UrlEncode(after),
        "WHERE status = 'completed' AND " + lo_where);
}

TEST_P(ApiJobsTest, PagingWhileJobsAreInsertedNeverRepeatsOrSkipsOldJobs) {
  for (int i = 0; i < 3; ++i) SubmitBatch(700);
  std::vector<std::string> old_desc = ExpectedIds("", "desc");
  std::set<std::string> old(old_desc.begin(), old_desc.end());
  std::vector<std::string> seen;
  std::string cursor;
  int inserted = 0;
  while (true) {
    HttpResult r = server().Get("/jobs?limit=97&fields=id" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200);
    json::value page = Json(r);
    for (const auto& job : page.at("jobs").as_array()) seen.emplace_back(job.at("id").as_string());
    // Between pages, new jobs arrive (newer than everything: they sort before page 1).
    SubmitBatch(50);
    server().Post("/jobs", R"({"model":"m","input_text":"late"})");
    inserted += 51;
    if (!page.at("has_more").as_bool()) break;
    cursor = std::string(page.at("next_cursor").as_string());
  }
  EXPECT_EQ(seen, old_desc);  // the new jobs are ahead of the walk; the old ones come once each
  EXPECT_EQ(RowCount(), static_cast<std::int64_t>(old.size()) + inserted);
}

TEST_P(ApiJobsTest, ExportStreamsEveryJobOnceInBoundedChunks) {
  cli::AppOptions options;
  options.store.pool_size = 1;  // a leaked connection would starve every later request
  server(options);
  for (int i = 0; i < 10; ++i) SubmitBatch(10'000, "export text");
  ASSERT_EQ(RowCount(), 100'000);

  StreamReader reader(server().port(), "GET", "/jobs/export");
  ASSERT_EQ(reader.status(), 200);
  EXPECT_EQ(reader.Header("content-type"), "application/x-ndjson");
  EXPECT_TRUE(reader.chunked());
  std::set<std::string> ids;
  std::size_t lines = 0, chunks = 0, max_lines_per_chunk = 0;
  std::string partial;
  while (auto chunk = reader.NextChunk()) {
    ++chunks;
    partial += *chunk;
    std::size_t in_chunk = 0, pos;
    while ((pos = partial.find('\n')) != std::string::npos) {
      json::value job = json::parse(partial.substr(0, pos));
      ids.emplace(job.at("id").as_string());
      EXPECT_TRUE(job.at("input_text").as_string().starts_with("export text"));
      partial.erase(0, pos + 1);
      ++lines;
      ++in_chunk;
    }
    max_lines_per_chunk = std::max(max_lines_per_chunk, in_chunk);
  }
  EXPECT_TRUE(partial.empty());
  EXPECT_EQ(lines, 100'000u);
  EXPECT_EQ(ids.size(), 100'000u);
  EXPECT_GE(chunks, 100u);
  EXPECT_LE(max_lines_per_chunk, 1000u);  // rows are streamed a chunk at a time

  // Filters apply, and an empty result is an empty stream.
  StreamReader filtered(server().port(), "GET", "/jobs/export?model=m1&fields=id,model");
  std::string body = filtered.ReadToEnd();
  EXPECT_EQ(std::count(body.begin(), body.end(), '\n'),
            std::stoll(*db_->Query("SELECT count(*) FROM ml_jobs WHERE model = 'm1'")[0][0]));
  StreamReader none(server().port(), "GET", "/jobs/export?model=absent");
  EXPECT_EQ(none.status(), 200);
  EXPECT_EQ(none.ReadToEnd(), "");

  // A client that hangs up mid-export frees its database connection.
  for (int i = 0; i < 3; ++i) {
    StreamReader quitter(server().port(), "GET", "/jobs/export");
    ASSERT_TRUE(quitter.NextChunk().has_value());
    quitter.Disconnect();
  }
  for (int i = 0; i < 5; ++i) {
    HttpResult r = server().Get("/jobs?limit=10");
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(server().Get("/readyz").status, 200);
}

TEST_P(ApiJobsTest, HealthProbes) {
  HttpResult health = server().Get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Header("x-db-statements"), "0");
  HttpResult ready = server().Get("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(Json(ready).at("status"), "ready");
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiJobsTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

// A PostgreSQL outage (through a proxy that can drop every connection) is a 503, and the
// same server serves again once the database is back, with no restart.
TEST(ApiOutageTest, DatabaseOutageIs503ThenRecovers) {
  if (auto why = BackendUnavailable("postgresql")) GTEST_SKIP() << *why;
  TestDatabase db("postgresql");
  auto [host, port] = TcpProxy::HostPortOf(db.url());
  TcpProxy proxy(host, port);
  ApiServer server(db, OptionsThroughProxy(db, proxy));
  ASSERT_EQ(server.Post("/jobs", R"({"model":"m","input_text":"before"})").status, 201);

  proxy.Break();
  for (const char* target : {"/jobs", "/readyz"}) {
    HttpResult r = server.Get(target);
    EXPECT_EQ(r.status, 503) << target << " " << r.body;
    EXPECT_EQ(Json(r).at("error").at("code"), "unavailable");
  }
  EXPECT_EQ(server.Post("/jobs", R"({"model":"m","input_text":"during"})").status, 503);
  EXPECT_EQ(server.Get("/healthz").status, 200);  // the process itself is fine

  proxy.Restore();
  EXPECT_EQ(server.Get("/readyz").status, 200);
  HttpResult list = server.Get("/jobs");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(Json(list).at("jobs").as_array().size(), 1u);
  EXPECT_EQ(server.Post("/jobs", R"({"model":"m","input_text":"after"})").status, 201);
}

}  // namespace
}  // namespace mljobs::testing

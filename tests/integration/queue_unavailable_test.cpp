// When the work queue answers 503: the long-poll waiter bound (too_many_waiters, both
// backends), and a PostgreSQL outage (through a TcpProxy that drops every connection)
// during which claim, heartbeat, complete, fail and batch complete answer 503 unavailable,
// after which the same server serves them again and a long poll is woken by a submit.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "support/api_server.hpp"
#include "support/tcp_proxy.hpp"

namespace mljobs::testing {
namespace {

namespace json = boost::json;

std::string Code(const HttpResult& r) {
  return std::string(Json(r).at("error").at("code").as_string());
}

std::string SubmitJob(const ApiServer& server) {
  HttpResult r = server.Post("/jobs", R"({"model":"m","input_text":"x"})");
  EXPECT_EQ(r.status, 201) << r.body;
  return std::string(Json(r).at("id").as_string());
}

// A claim long-polling on a connection of its own; get() is its answer.
std::future<HttpResult> LongPoll(const ApiServer& server, int wait_seconds) {
  const std::uint16_t port = server.port();
  return std::async(std::launch::async, [port, wait_seconds] {
    HttpConnection connection(port, std::chrono::seconds(wait_seconds + 10));
    return connection.Send("POST", "/queue/claim",
                           R"({"worker":"w","wait_seconds":)" + std::to_string(wait_seconds) + "}");
  });
}

class QueueWaiterLimitTest : public ::testing::TestWithParam<std::string> {};

TEST_P(QueueWaiterLimitTest, ClaimPastTheWaiterBoundIs503TooManyWaiters) {
  if (auto why = BackendUnavailable(GetParam())) GTEST_SKIP() << *why;
  TestDatabase db(GetParam());
  cli::AppOptions options;
  options.store.max_claim_waiters = 2;
  ApiServer server(db, options);
  // The first long poll starts PostgreSQL's LISTEN connection, whose first connect wakes
  // every waiter once (they may miss nothing); let that happen before counting waiters.
  ASSERT_EQ(server.Post("/queue/claim", R"({"worker":"w0","wait_seconds":1})").status, 200);

  // Three claims that would wait 20 s for a bound of two: exactly one is refused at once,
  // whatever order they arrive in.
  std::vector<std::future<HttpResult>> polls;
  for (int i = 0; i < 3; ++i) polls.push_back(LongPoll(server, 20));
  std::vector<HttpResult> refused;
  while (refused.empty()) {
    for (auto it = polls.begin(); it != polls.end(); ++it) {
      if (it->wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) continue;
      refused.push_back(it->get());
      polls.erase(it);
      break;
    }
  }
  EXPECT_EQ(refused[0].status, 503) << refused[0].body;
  EXPECT_EQ(Code(refused[0]), "too_many_waiters");
  // A claim that does not wait is not bounded by it.
  EXPECT_EQ(server.Post("/queue/claim", R"({"worker":"w4"})").status, 200);

  // Work for both waiters ends their waits (long before 20 s) and frees the bound again.
  SubmitJob(server);
  SubmitJob(server);
  for (std::future<HttpResult>& waiting : polls) {
    HttpResult r = waiting.get();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Json(r).at("jobs").as_array().size(), 1u);
  }
  HttpResult after = server.Post("/queue/claim", R"({"worker":"w3","wait_seconds":1})");
  EXPECT_EQ(after.status, 200) << after.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueWaiterLimitTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST(QueueOutageTest, QueueRoutesAre503DuringAnOutageThenRecover) {
  if (auto why = BackendUnavailable(kPostgresqlBackend)) GTEST_SKIP() << *why;
  TestDatabase db(kPostgresqlBackend);
  auto [host, port] = TcpProxy::HostPortOf(db.url());
  TcpProxy proxy(host, port);
  ApiServer server(db, OptionsThroughProxy(db, proxy));
  for (int i = 0; i < 3; ++i) SubmitJob(server);
  // A long poll starts the LISTEN connection, which the outage will break too.
  HttpResult claim = server.Post("/queue/claim", R"({"worker":"w","limit":3,"wait_seconds":1})");
  ASSERT_EQ(claim.status, 200) << claim.body;
  const json::array claimed = Json(claim).at("jobs").as_array();
  ASSERT_EQ(claimed.size(), 3u);
  auto id_of = [&](std::size_t i) { return std::string(claimed[i].at("id").as_string()); };
  auto token_of = [&](std::size_t i) {
    return std::string(claimed[i].at("lease_token").as_string());
  };
  auto lease_body = [&](std::size_t i, const std::string& rest) {
    return "{\"lease_token\":\"" + token_of(i) + "\"" + rest + "}";
  };
  struct Call {
    std::string target, body;
  };
  const std::vector<Call> calls = {
      {"/jobs/" + id_of(0) + "/heartbeat", lease_body(0, "")},
      {"/jobs/" + id_of(0) + "/complete", lease_body(0, R"(,"result_label":"a","result_score":1)")},
      {"/jobs/" + id_of(1) + "/fail", lease_body(1, R"(,"error":"e","retry":false)")},
      {"/queue/complete", "{\"results\":[{\"id\":\"" + id_of(2) + "\",\"lease_token\":\"" +
                              token_of(2) + "\",\"result_label\":\"a\",\"result_score\":1}]}"},
      {"/queue/claim", R"({"worker":"w"})"},
  };

  proxy.Break();
  for (const Call& call : calls) {
    HttpResult r = server.Post(call.target, call.body);
    EXPECT_EQ(r.status, 503) << call.target << " " << r.body;
    EXPECT_EQ(Code(r), "unavailable") << call.target;
  }
  proxy.Restore();

  for (const Call& call : calls) {
    HttpResult r = server.Post(call.target, call.body);
    EXPECT_EQ(r.status, 200) << call.target << " " << r.body;
  }
  auto states = db.Query("SELECT status, count(*) FROM ml_jobs GROUP BY status ORDER BY status");
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0][0], "completed");
  EXPECT_EQ(states[0][1], "2");
  EXPECT_EQ(states[1][0], "failed");

  // The LISTEN connection came back too: a long poll started now is woken by a submit
  // (within its 20 s, long before it would time out empty).
  std::future<HttpResult> waiting = LongPoll(server, 20);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string id = SubmitJob(server);
  HttpResult woken = waiting.get();
  ASSERT_EQ(woken.status, 200) << woken.body;
  const json::array jobs = Json(woken).at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].at("id").as_string(), id);
}

}  // namespace
}  // namespace mljobs::testing

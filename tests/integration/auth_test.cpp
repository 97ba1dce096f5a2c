// Authentication and roles over HTTP on each backend: every route refuses a missing, bad or
// revoked token (401) and a wrong role (403) with a JSON error and changes nothing; users
// see only their own jobs; /healthz and /readyz stay open; --auth=off only on loopback.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/error.hpp"
#include "jobs/auth_service.hpp"
#include "support/api_server.hpp"
#include "support/test_tokens.hpp"

namespace mljobs::testing {
namespace {

namespace json = boost::json;

struct RouteCase {
  std::string method;
  std::string target;
  std::string body;
  std::optional<jobs::Role> wrong_role;  // a role the route refuses; none: any role may
};

// One request per route; {id} is a well-formed uuid that names no job.
const std::vector<RouteCase>& Routes() {
  static const std::string kId = "/jobs/0192b6c4-5e47-7b8a-9c3d-0123456789ab";
  static const std::string kJob = R"({"model":"m","input_text":"x"})";
  static const std::vector<RouteCase> routes = {
      {"POST", "/jobs", kJob, jobs::Role::kWorker},
      {"POST", "/jobs/batch", R"({"jobs":[)" + kJob + "]}", jobs::Role::kWorker},
      {"GET", "/jobs", "", jobs::Role::kWorker},
      {"GET", "/jobs/export", "", jobs::Role::kWorker},
      {"GET", kId, "", jobs::Role::kWorker},
      {"POST", kId + "/cancel", "", jobs::Role::kWorker},
      {"GET", "/admin/db-health", "", jobs::Role::kUser},
      {"GET", "/admin/explain?query=first_page", "", jobs::Role::kWorker},
      {"GET", "/admin/slow-queries", "", jobs::Role::kUser},
      {"GET", "/metrics", "", jobs::Role::kUser},
      {"POST", "/queue/claim", R"({"worker":"w","limit":1})", jobs::Role::kUser},
      {"POST", "/queue/complete", R"({"results":[]})", jobs::Role::kUser},
      {"POST", kId + "/heartbeat", "{}", jobs::Role::kUser},
      {"POST", kId + "/complete", "{}", jobs::Role::kUser},
      {"POST", kId + "/fail", "{}", jobs::Role::kUser},
      {"GET", "/jobs/stats", "", std::nullopt},
      {"GET", "/jobs/stats/timeseries", "", std::nullopt},
      {"POST", "/admin/archive-jobs?days_old=30", "", jobs::Role::kUser},
      {"POST", "/admin/purge-archive?days_old=365", "", jobs::Role::kWorker},
  };
  return routes;
}

class AuthTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (auto why = BackendUnavailable(GetParam())) GTEST_SKIP() << *why;
    db_ = std::make_unique<TestDatabase>(GetParam());
    server_ = std::make_unique<ApiServer>(*db_, cli::AppOptions{}, ApiServer::Auth::kOn);
    admin_ = CreateTestToken(*db_, "root", jobs::Role::kAdmin);
  }
  void TearDown() override {
    server_.reset();
    db_.reset();
  }

  HttpResult Call(const std::string& method, const std::string& target, const std::string& body,
                  const HeaderList& headers) {
    HeaderList h = headers;
    if (!body.empty()) h.emplace_back("Content-Type", "application/json");
    return Send(server_->port(), method, target, body, h);
  }

  std::string Submit(const std::string& token, const std::string& text) {
    HttpResult r = Call("POST", "/jobs", R"({"model":"m","input_text":")" + text + R"("})",
                        Bearer(token));
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(Json(r).at("id").as_string());
  }

  std::int64_t RowCount() { return std::stoll(*db_->Query("SELECT count(*) FROM ml_jobs")[0][0]); }

  static void ExpectError(const HttpResult& r, int status, std::string_view code,
                          const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
    json::value body = Json(r);
    ASSERT_TRUE(body.is_object()) << what;
    EXPECT_EQ(body.at("error").at("code").as_string(), code) << what;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<ApiServer> server_;
  std::string admin_;
};

TEST_P(AuthTest, EveryRouteRefusesMissingBadAndRevokedTokensAndChangesNothing) {
  const std::string revoked = CreateTestToken(*db_, "gone", jobs::Role::kAdmin);
  RevokeTestToken(*db_, "gone");
  const std::vector<std::pair<std::string, HeaderList>> bad = {
      {"no token", {}},
      {"not bearer", {{"Authorization", "Basic " + admin_}}},
      {"empty bearer", {{"Authorization", "Bearer "}}},
      {"unknown token", Bearer("mlj_" + std::string(64, '0'))},
      {"admin token with a changed character", Bearer(admin_.substr(0, admin_.size() - 1) + "x")},
      {"revoked token", Bearer(revoked)},
  };
  for (const RouteCase& route : Routes()) {
    for (const auto& [what, headers] : bad) {
      const std::string label = route.method + " " + route.target + " with " + what;
      HttpResult r = Call(route.method, route.target, route.body, headers);
      ExpectError(r, 401, "unauthenticated", label);
      EXPECT_EQ(r.Header("www-authenticate"), "Bearer") << label;
    }
  }
  EXPECT_EQ(RowCount(), 0);
}

TEST_P(AuthTest, EveryRouteRefusesTheWrongRoleAndChangesNothing) {
  const std::string user = CreateTestToken(*db_, "alice", jobs::Role::kUser);
  const std::string worker = CreateTestToken(*db_, "w1", jobs::Role::kWorker);
  for (const RouteCase& route : Routes()) {
    if (!route.wrong_role) continue;
    const std::string& token = route.wrong_role == jobs::Role::kUser ? user : worker;
    HttpResult r = Call(route.method, route.target, route.body, Bearer(token));
    ExpectError(r, 403, "permission_denied",
                route.method + " " + route.target + " as " +
                    std::string(jobs::RoleName(*route.wrong_role)));
  }
  // Statistics are for every role.
  for (const std::string* token : {&user, &worker}) {
    EXPECT_EQ(Call("GET", "/jobs/stats", "", Bearer(*token)).status, 200);
  }
  // A user may not use the operator's routes either.
  for (const char* target : {"/admin/explain?query=first_page", "/metrics"}) {
    ExpectError(Call("GET", target, "", Bearer(user)), 403, "permission_denied", target);
  }
  EXPECT_EQ(RowCount(), 0);
}

TEST_P(AuthTest, AdminMayCallEveryRoute) {
  for (const RouteCase& route : Routes()) {
    HttpResult r = Call(route.method, route.target, route.body, Bearer(admin_));
    // Past auth: the route itself answers (a 404 for the uuid that names no job, a 400 for
    // a queue body it does not like), never 401/403, never 500.
    EXPECT_NE(r.status, 401) << route.method << " " << route.target << ": " << r.body;
    EXPECT_NE(r.status, 403) << route.method << " " << route.target << ": " << r.body;
    EXPECT_LT(r.status, 500) << route.method << " " << route.target << ": " << r.body;
  }
  EXPECT_EQ(Call("GET", "/jobs", "", Bearer(admin_)).status, 200);
  EXPECT_EQ(Call("POST", "/jobs", R"({"model":"m","input_text":"x"})", Bearer(admin_)).status, 201);
}

TEST_P(AuthTest, ProbesNeedNoToken) {
  EXPECT_EQ(Call("GET", "/healthz", "", {}).status, 200);
  EXPECT_EQ(Call("GET", "/readyz", "", {}).status, 200);
}

TEST_P(AuthTest, UsersSeeListExportAndCancelOnlyTheirOwnJobs) {
  const std::string alice = CreateTestToken(*db_, "alice", jobs::Role::kUser);
  const std::string bob = CreateTestToken(*db_, "bob", jobs::Role::kUser);
  const std::string a1 = Submit(alice, "a1");
  const std::string a2 = Submit(alice, "a2");
  const std::string b1 = Submit(bob, "b1");

  HttpResult own = Call("GET", "/jobs/" + a1, "", Bearer(alice));
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(Json(own).at("owner").as_string(), "alice");

  // Another user's job does not exist for bob.
  ExpectError(Call("GET", "/jobs/" + a1, "", Bearer(bob)), 404, "not_found", "bob gets a1");
  ExpectError(Call("POST", "/jobs/" + a1 + "/cancel", "", Bearer(bob)), 404, "not_found",
              "bob cancels a1");
  EXPECT_EQ(*db_->Query("SELECT status FROM ml_jobs WHERE owner = 'alice' ORDER BY id")[0][0],
            "pending");

  HttpResult list = Call("GET", "/jobs?fields=id", "", Bearer(bob));
  ASSERT_EQ(list.status, 200) << list.body;
  json::array jobs = Json(list).at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].at("id").as_string(), b1);

  // A filter cannot widen the scope either.
  HttpResult filtered = Call("GET", "/jobs?status=pending&fields=id&count=exact", "", Bearer(bob));
  ASSERT_EQ(filtered.status, 200) << filtered.body;
  EXPECT_EQ(Json(filtered).at("jobs").as_array().size(), 1u);
  EXPECT_EQ(Json(filtered).at("total").as_int64(), 1);

  HttpResult exported = Call("GET", "/jobs/export?fields=id", "", Bearer(bob));
  ASSERT_EQ(exported.status, 200);
  EXPECT_EQ(exported.body, R"({"id":")" + b1 + "\"}\n");

  HttpResult alice_list = Call("GET", "/jobs?fields=id&order=asc", "", Bearer(alice));
  json::array alice_jobs = Json(alice_list).at("jobs").as_array();
  ASSERT_EQ(alice_jobs.size(), 2u);
  EXPECT_EQ(alice_jobs[0].at("id").as_string(), a1);
  EXPECT_EQ(alice_jobs[1].at("id").as_string(), a2);

  // alice cancels her own; an admin sees everyone's.
  EXPECT_EQ(Call("POST", "/jobs/" + a1 + "/cancel", "", Bearer(alice)).status, 200);
  EXPECT_EQ(Call("GET", "/jobs/" + b1, "", Bearer(admin_)).status, 200);
  HttpResult all = Call("GET", "/jobs?fields=id", "", Bearer(admin_));
  EXPECT_EQ(Json(all).at("jobs").as_array().size(), 3u);
}

TEST_P(AuthTest, TheBearerSchemeIsCaseInsensitive) {
  HttpResult r = Call("GET", "/jobs", "", {{"Authorization", "bearer " + admin_}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_P(AuthTest, AuthRunsNoStatementOnceATokenIsCached) {
  const std::string alice = CreateTestToken(*db_, "alice", jobs::Role::kUser);
  const std::string id = Submit(alice, "x");  // first use: the token lookup is one statement
  HttpResult r = Call("GET", "/jobs/" + id, "", Bearer(alice));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-db-statements"), "1");
}

TEST_P(AuthTest, RevokeThroughTheServiceStopsACachedTokenAtOnce) {
  const std::string token = CreateTestToken(*db_, "carol", jobs::Role::kUser);
  boost::asio::io_context io;
  OpenedStore store = OpenTestStore(db_->url(), io);
  jobs::AuthService auth(store.backend().tokens());
  obs::RequestStats stats;
  const auto header = "Bearer " + token;
  EXPECT_EQ(RunSync(io, auth.Authenticate(stats, header)).name, "carol");
  EXPECT_EQ(stats.statements(), 1);
  EXPECT_EQ(RunSync(io, auth.Authenticate(stats, header)).role, jobs::Role::kUser);
  EXPECT_EQ(stats.statements(), 1);  // cached
  RunSync(io, auth.RevokeToken(stats, "carol"));
  try {
    RunSync(io, auth.Authenticate(stats, header));
    ADD_FAILURE() << "a revoked token authenticated";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnauthenticated);
  }
  // The database keeps the hash only.
  auto rows = db_->Query("SELECT token_hash, revoked_at IS NOT NULL FROM mljobs_tokens "
                         "WHERE name = 'carol'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0][0], jobs::AuthService::HashToken(token));
  EXPECT_NE(*rows[0][0], token);
  EXPECT_TRUE(*rows[0][1] == "1" || *rows[0][1] == "t") << *rows[0][1];
}

TEST_P(AuthTest, TheFirstServerPrintedABootstrapAdminAndASecondCreatesNone) {
  auto rows = db_->Query("SELECT name, role FROM mljobs_tokens ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);  // the bootstrap admin, then the test's own
  EXPECT_EQ(*rows[0][0], "admin");
  EXPECT_EQ(*rows[0][1], "admin");
  ApiServer second(*db_, cli::AppOptions{}, ApiServer::Auth::kOn);
  EXPECT_EQ(db_->Query("SELECT name FROM mljobs_tokens").size(), 2u);
}

TEST_P(AuthTest, AuthOffIsRefusedUnlessOnLoopback) {
  cli::AppOptions options;
  options.db_url = db_->url();
  options.host = "0.0.0.0";
  options.port = 0;
  options.auth = false;
  cli::App app(options);
  try {
    app.Start();
    ADD_FAILURE() << "--auth=off started on 0.0.0.0";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("loopback"), std::string::npos) << e.what();
  }
}

TEST_P(AuthTest, TokenNamesAreCheckedAndUnique) {
  boost::asio::io_context io;
  OpenedStore store = OpenTestStore(db_->url(), io);
  jobs::AuthService auth(store.backend().tokens());
  obs::RequestStats stats;
  for (const std::string& bad : std::vector<std::string>{"", "has space", std::string(65, 'a'), "semi;colon"}) {
    try {
      RunSync(io, auth.CreateToken(stats, bad, jobs::Role::kUser));
      ADD_FAILURE() << "accepted name '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << bad;
    }
  }
  try {
    RunSync(io, auth.CreateToken(stats, "root", jobs::Role::kUser));
    ADD_FAILURE() << "a second token named root";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
  }
  EXPECT_EQ(db_->Query("SELECT count(*) FROM mljobs_tokens")[0][0], "2");
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace mljobs::testing

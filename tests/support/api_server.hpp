// A real mljobs server (cli::App) on a fresh test database and an ephemeral port, for
// HTTP-level tests of either backend, plus JSON helpers for what it answers.
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <string>

#include "cli/app.hpp"
#include "support/http_client.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_backends.hpp"

namespace mljobs::testing {

class ApiServer {
 public:
  enum class Auth { kOff, kOn };

  // Starts on `database` (the caller keeps it alive) with `options` (db_url and port are
  // filled in unless db_url is already set, e.g. to go through a TcpProxy). Listens on
  // 127.0.0.1 with authentication off unless `auth` is kOn (then requests need tokens:
  // see CreateTestToken).
  explicit ApiServer(const TestDatabase& database, cli::AppOptions options = {},
                     Auth auth = Auth::kOff);
  ~ApiServer();

  std::uint16_t port() const { return port_; }

  HttpResult Get(const std::string& target) const;
  HttpResult Post(const std::string& target, const std::string& body) const;

 private:
  std::unique_ptr<cli::App> app_;
  std::uint16_t port_ = 0;
};

// A test parameterised by backend name ("sqlite", "postgresql") with a fresh database and
// an ApiServer (auth off) on it; skips (or fails, see BackendUnavailable) when the backend
// is not available. Tests may replace server_ (e.g. with other options).
class ApiServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (auto why = BackendUnavailable(GetParam())) GTEST_SKIP() << *why;
    db_ = std::make_unique<TestDatabase>(GetParam());
    server_ = std::make_unique<ApiServer>(*db_);
  }
  bool pg() const { return GetParam() == kPostgresqlBackend; }

  std::unique_ptr<TestDatabase> db_;  // declared first: outlives the server on it
  std::unique_ptr<ApiServer> server_;
};

// Options for an ApiServer on `database` (PostgreSQL) reached through `proxy`, with 1 s pool
// timeouts, so that requests answer 503 soon after proxy.Break().
cli::AppOptions OptionsThroughProxy(const TestDatabase& database, const TcpProxy& proxy);

// Parses a response body as JSON; fails the test (and returns null) when it is not.
boost::json::value Json(const HttpResult& result);

// URL-encodes a query parameter value.
std::string UrlEncode(std::string_view value);

}  // namespace mljobs::testing

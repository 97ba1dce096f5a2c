// http::Server on 127.0.0.1 (ephemeral port) with a test Router: routing errors, limits,
// deadlines, keep-alive, timing headers, error mapping, streaming, connection limits and
// shutdown. Statuses and bodies are asserted exactly; times only bound waits.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/error.hpp"
#include "http/server.hpp"
#include "support/http_client.hpp"

namespace mljobs::http {
namespace {

using namespace std::chrono_literals;
using mljobs::testing::HttpConnection;
using mljobs::testing::HttpResult;
using mljobs::testing::RawBody;
using mljobs::testing::RawStatus;
using mljobs::testing::SendRaw;
using mljobs::testing::StreamReader;
namespace asio = boost::asio;
namespace json = boost::json;

constexpr int kStreamForeverMax = 1'000'000;

// Waits (bounded) for a condition another thread makes true.
template <class Condition>
bool WaitFor(Condition condition, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(asio::use_awaitable);
}

std::string ErrorBody(std::string_view code, std::string_view message) {
  return ErrorResponse(400, code, message).body;
}

class HttpServerTest : public ::testing::Test {
 protected:
  static ServerLimits TestLimits() {
    ServerLimits limits;
    limits.max_header_bytes = 2048;
    limits.max_body_bytes = 1024;
    limits.read_timeout = 1s;
    limits.idle_timeout = 30s;
    limits.write_timeout = 5s;
    limits.max_connections = 64;
    return limits;
  }

  void SetUp() override { Start(TestLimits()); }
  void TearDown() override { Shutdown(); }

  void Start(ServerLimits limits) {
    auto observer = [this](std::string_view method, std::string_view route, int status,
                           std::chrono::nanoseconds) {
      std::lock_guard lock(observed_mu_);
      observed_.emplace_back(std::string(method), std::string(route), status);
    };
    server_ = std::make_unique<Server>(ioc_.get_executor(), MakeRouter(), limits, observer);
    port_ = server_->Listen("127.0.0.1", 0);
    ioc_.restart();  // run() returned after an earlier Shutdown()
    threads_done_ = 0;
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] {
        ioc_.run();
        ++threads_done_;
      });
    }
  }

  // Stop() and let the io threads run out of work: that proves every connection ended.
  void Shutdown() {
    if (!server_) return;
    server_->Stop();
    const bool drained =
        WaitFor([&] { return threads_done_ == static_cast<int>(threads_.size()); });
    EXPECT_TRUE(drained) << "connections still open 10 s after Stop()";
    if (!drained) ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    server_.reset();
  }

  std::vector<std::tuple<std::string, std::string, int>> Observed() {
    std::lock_guard lock(observed_mu_);
    return observed_;
  }

  bool WasObserved(const std::string& method, const std::string& route, int status) {
    return WaitFor(
        [&] {
          for (const auto& o : Observed()) {
            if (o == std::make_tuple(method, route, status)) return true;
          }
          return false;
        },
        5s);
  }

  Router MakeRouter() {
    Router r;
    auto echo = [](Exchange& ex) -> asio::awaitable<Response> {
      const Request& req = ex.request();
      json::object out;
      out["method"] = req.method;
      out["path"] = req.path;
      json::array query;
      for (const auto& [k, v] : req.query)
        query.push_back(json::array{json::string(k), json::string(v)});
      out["query"] = std::move(query);
      out["x-test"] = req.Header("X-Test").value_or("");
      out["body"] = req.body;
      Response res;
      res.body = json::serialize(out);
      res.headers.emplace_back("X-Echo", "yes");
      co_return res;
    };
    r.Add("GET", "/echo", echo);
    r.Add("POST", "/echo", echo);
    r.Add("GET", "/items/{id}", [](Exchange& ex) -> asio::awaitable<Response> {
      Response res;
      res.content_type = "text/plain";
      res.body = "item " + std::string(ex.request().PathParam("id"));
      co_return res;
    });
    r.Add("GET", "/items/special", [](Exchange&) -> asio::awaitable<Response> {
      Response res;
      res.content_type = "text/plain";
      res.body = "special";
      co_return res;
    });
    r.Add("GET", "/conflict", [](Exchange&) -> asio::awaitable<Response> {
      throw Error(ErrorCode::kConflict, "job is finished", "job_finished");
      co_return Response{};
    });
    r.Add("GET", "/missing", [](Exchange&) -> asio::awaitable<Response> {
      throw Error(ErrorCode::kNotFound, "no such job");
      co_return Response{};
    });
    r.Add("GET", "/boom", [](Exchange&) -> asio::awaitable<Response> {
      throw std::runtime_error("kaboom");
      co_return Response{};
    });
    r.Add("GET", "/stats", [](Exchange& ex) -> asio::awaitable<Response> {
      for (int i = 0; i < 3; ++i) ex.stats().RecordStatement("TestStatement", 2ms, 1);
      co_return Response{201, "application/json", "{}", {}};
    });
    r.Add("GET", "/stream", [](Exchange& ex) -> asio::awaitable<Response> {
      const int n = std::stoi(std::string(ex.request().Query("n").value_or("10")));
      ex.stats().RecordStatement("StreamStatement", 1ms, n);
      co_await ex.StartStream(200, "application/x-ndjson");
      for (int i = 0; i < n; ++i) {
        std::string line = "{\"line\":" + std::to_string(i) + "}\n";
        if (!co_await ex.WriteChunk(line)) break;
      }
      co_return Response{};
    });
    r.Add("GET", "/stream-forever", [this](Exchange& ex) -> asio::awaitable<Response> {
      co_await ex.StartStream(200, "text/plain");
      const std::string chunk(1024, 'x');
      for (int i = 0; i < kStreamForeverMax; ++i) {
        if (!co_await ex.WriteChunk(chunk)) {
          client_gone_ = true;
          break;
        }
      }
      co_return Response{};
    });
    r.Add("GET", "/stream-then-throw", [](Exchange& ex) -> asio::awaitable<Response> {
      co_await ex.StartStream(200, "text/plain");
      co_await ex.WriteChunk("first");
      throw std::runtime_error("failed midway");
      co_return Response{};
    });
    r.Add("GET", "/slow", [this](Exchange&) -> asio::awaitable<Response> {
      slow_started_ = true;
      for (int i = 0; i < 1000 && !slow_release_; ++i) co_await Sleep(10ms);
      co_return Response{200, "text/plain", "slow done", {}};
    });
    return r;
  }

  asio::io_context ioc_;
  std::unique_ptr<Server> server_;
  std::vector<std::thread> threads_;
  std::atomic<int> threads_done_{0};
  std::uint16_t port_ = 0;
  std::mutex observed_mu_;
  std::vector<std::tuple<std::string, std::string, int>> observed_;
  std::atomic<bool> client_gone_{false};
  std::atomic<bool> slow_started_{false};
  std::atomic<bool> slow_release_{false};
};

HttpResult Get(std::uint16_t port, std::string_view target) {
  return mljobs::testing::Send(port, "GET", target);
}

void ExpectTimingHeaders(const HttpResult& res) {
  ASSERT_TRUE(res.Header("server-timing").has_value());
  EXPECT_TRUE(std::regex_match(*res.Header("server-timing"),
                               std::regex(R"(db;dur=\d+\.\d{3}, app;dur=\d+\.\d{3})")))
      << *res.Header("server-timing");
  EXPECT_TRUE(res.Header("x-db-statements").has_value());
}

TEST_F(HttpServerTest, EchoesDecodedRequest) {
  HttpResult res = mljobs::testing::Send(
      port_, "GET", "/e%63ho?a=1&b=hello+world&c=%41%2f%3D&flag&&d=", "", {{"X-Test", "v1"}});
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(res.Header("content-type"), "application/json");
  EXPECT_EQ(res.Header("x-echo"), "yes");
  EXPECT_EQ(res.Header("content-length"), std::to_string(res.body.size()));
  json::value body = json::parse(res.body);
  EXPECT_EQ(body.at("method"), "GET");
  EXPECT_EQ(body.at("path"), "/echo");
  EXPECT_EQ(body.at("x-test"), "v1");
  EXPECT_EQ(json::serialize(body.at("query")),
            R"([["a","1"],["b","hello world"],["c","A/="],["flag",""],["d",""]])");
  ExpectTimingHeaders(res);
  EXPECT_EQ(res.Header("x-db-statements"), "0");
}

TEST_F(HttpServerTest, PostBodyReachesHandler) {
  HttpResult res = mljobs::testing::Send(port_, "POST", "/echo", "payload \x01 bytes",
                                         {{"Content-Type", "text/plain"}});
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(json::parse(res.body).at("body"), "payload \x01 bytes");
}

TEST_F(HttpServerTest, PathParamsAndLiteralPrecedence) {
  HttpResult item = Get(port_, "/items/42");
  EXPECT_EQ(item.status, 200);
  EXPECT_EQ(item.body, "item 42");
  EXPECT_EQ(item.Header("content-type"), "text/plain");
  HttpResult decoded = Get(port_, "/items/a%20b");
  EXPECT_EQ(decoded.body, "item a b");
  HttpResult special = Get(port_, "/items/special");
  EXPECT_EQ(special.body, "special");
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  HttpResult res = Get(port_, "/nope");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.Header("content-type"), "application/json");
  EXPECT_EQ(res.body, ErrorBody("not_found", "no route matches the path"));
  ExpectTimingHeaders(res);
  EXPECT_EQ(res.Header("x-db-statements"), "0");
  EXPECT_TRUE(WasObserved("GET", "unmatched", 404));
}

TEST_F(HttpServerTest, TrailingSlashIs404) {
  EXPECT_EQ(Get(port_, "/echo/").status, 404);
  EXPECT_EQ(Get(port_, "/items/").status, 404);
}

TEST_F(HttpServerTest, OtherMethodIs405WithAllow) {
  HttpResult res = mljobs::testing::Send(port_, "DELETE", "/echo");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.Header("allow"), "GET, POST");
  EXPECT_EQ(res.body, ErrorBody("method_not_allowed",
                                "method DELETE is not allowed here; allowed: GET, POST"));
  ExpectTimingHeaders(res);
  EXPECT_TRUE(WasObserved("DELETE", "unmatched", 405));
}

TEST_F(HttpServerTest, ObserverSeesRoutePattern) {
  EXPECT_EQ(Get(port_, "/items/7").status, 200);
  EXPECT_TRUE(WasObserved("GET", "/items/{id}", 200));
  EXPECT_EQ(Get(port_, "/conflict").status, 409);
  EXPECT_TRUE(WasObserved("GET", "/conflict", 409));
}

TEST_F(HttpServerTest, ErrorMapsToStatusAndReason) {
  HttpResult conflict = Get(port_, "/conflict");
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.Header("content-type"), "application/json");
  EXPECT_EQ(conflict.body, ErrorBody("job_finished", "job is finished"));
  ExpectTimingHeaders(conflict);

  HttpResult missing = Get(port_, "/missing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, ErrorBody("not_found", "no such job"));
}

TEST_F(HttpServerTest, OtherExceptionIs500Internal) {
  HttpResult res = Get(port_, "/boom");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body, ErrorBody("internal", "internal error"));
  ExpectTimingHeaders(res);
  // The server is still serving.
  EXPECT_EQ(Get(port_, "/items/1").status, 200);
}

TEST_F(HttpServerTest, StatementCountAndDbTimeInHeaders) {
  HttpResult res = Get(port_, "/stats");
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.Header("x-db-statements"), "3");
  ASSERT_TRUE(res.Header("server-timing").has_value());
  // Recorded db time is 3 x 2 ms exactly; app time is wall clock and not asserted.
  EXPECT_EQ(res.Header("server-timing")->rfind("db;dur=6.000, app;dur=", 0), 0u)
      << *res.Header("server-timing");
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpConnection conn(port_);
  for (int i = 0; i < 5; ++i) {
    HttpResult res = conn.Send("GET", "/items/" + std::to_string(i));
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(res.body, "item " + std::to_string(i));
    EXPECT_NE(res.Header("connection"), "close");
  }
  // Errors of a handler or of routing keep the connection too.
  EXPECT_EQ(conn.Send("GET", "/nope").status, 404);
  EXPECT_EQ(conn.Send("GET", "/conflict").status, 409);
  EXPECT_EQ(conn.Send("POST", "/echo", "abc").status, 200);
  EXPECT_EQ(conn.Send("GET", "/stream?n=3").body, "{\"line\":0}\n{\"line\":1}\n{\"line\":2}\n");
  EXPECT_EQ(conn.Send("GET", "/items/last").body, "item last");
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  HttpConnection conn(port_);
  HttpResult res = conn.Send("GET", "/items/1", "", {{"Connection", "close"}});
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.Header("connection"), "close");
  EXPECT_TRUE(conn.WaitForClose(5s));
}

TEST_F(HttpServerTest, Http10ClosesAfterResponse) {
  auto raw = SendRaw(port_, "GET /items/9 HTTP/1.0\r\n\r\n", 5s);
  EXPECT_EQ(RawStatus(raw.data), 200);
  EXPECT_EQ(RawBody(raw.data), "item 9");
  EXPECT_TRUE(raw.closed);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto raw = SendRaw(port_,
                     "GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /items/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     5s);
  EXPECT_TRUE(raw.closed);
  auto first = raw.data.find("item 1");
  auto second = raw.data.find("item 2");
  ASSERT_NE(first, std::string::npos) << raw.data;
  ASSERT_NE(second, std::string::npos) << raw.data;
  EXPECT_LT(first, second);
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimResponse) {
  auto raw = SendRaw(port_,
                     "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     "Expect: 100-continue\r\nConnection: close\r\n\r\nhello",
                     5s);
  EXPECT_EQ(RawStatus(raw.data), 100);
  EXPECT_NE(raw.data.find("HTTP/1.1 200 OK"), std::string::npos) << raw.data;
  EXPECT_NE(raw.data.find("\"body\":\"hello\""), std::string::npos) << raw.data;
}

TEST_F(HttpServerTest, BodyAtLimitIsAccepted) {
  HttpResult res = mljobs::testing::Send(port_, "POST", "/echo", std::string(1024, 'b'));
  EXPECT_EQ(res.status, 200);
}

TEST_F(HttpServerTest, OversizeBodyIs413AndCloses) {
  HttpConnection conn(port_);
  HttpResult res = conn.Send("POST", "/echo", std::string(4096, 'b'));
  EXPECT_EQ(res.status, 413);
  EXPECT_EQ(res.Header("connection"), "close");
  EXPECT_EQ(res.body, ErrorBody("payload_too_large", "request body exceeds 1024 bytes"));
  ExpectTimingHeaders(res);
  EXPECT_TRUE(conn.WaitForClose(5s));
}

TEST_F(HttpServerTest, OversizeChunkedBodyIs413) {
  std::string request =
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "800\r\n" +
      std::string(0x800, 'c') + "\r\n0\r\n\r\n";
  auto raw = SendRaw(port_, request, 5s);
  EXPECT_EQ(RawStatus(raw.data), 413);
  EXPECT_EQ(RawBody(raw.data), ErrorBody("payload_too_large", "request body exceeds 1024 bytes"));
  EXPECT_TRUE(raw.closed);
}

TEST_F(HttpServerTest, OversizeHeaderIs431) {
  HttpConnection conn(port_);
  HttpResult res = conn.Send("GET", "/echo", "", {{"X-Big", std::string(4096, 'h')}});
  EXPECT_EQ(res.status, 431);
  EXPECT_EQ(res.body, ErrorBody("header_too_large", "request line and headers exceed 2048 bytes"));
  EXPECT_TRUE(conn.WaitForClose(5s));
}

TEST_F(HttpServerTest, OversizeUrlIs431) {
  HttpResult res = Get(port_, "/echo?q=" + std::string(4096, 'u'));
  EXPECT_EQ(res.status, 431);
  EXPECT_EQ(json::parse(res.body).at("error").at("code"), "header_too_large");
}

TEST_F(HttpServerTest, MalformedRequestLineIs400AndCloses) {
  for (std::string_view bad :
       {"GARBAGE\r\n\r\n", "GET /echo HTTX/1.1\r\nHost: x\r\n\r\n",
        "GET /echo HTTP/1.1\r\nBad Header\r\n\r\n", "\x01\x02\x03\x04\r\n\r\n"}) {
    auto raw = SendRaw(port_, bad, 5s);
    EXPECT_EQ(RawStatus(raw.data), 400) << bad;
    EXPECT_EQ(json::parse(RawBody(raw.data)).at("error").at("code"), "bad_request") << bad;
    EXPECT_TRUE(raw.closed) << bad;
  }
}

TEST_F(HttpServerTest, BadPercentEncodingIs400) {
  for (std::string_view target :
       {"/echo?a=%zz", "/echo?a=%4", "/ech%", "/items/a%2Fb", "/items/a%00b"}) {
    HttpResult res = Get(port_, target);
    EXPECT_EQ(res.status, 400) << target;
    EXPECT_EQ(res.body, ErrorBody("bad_request", "malformed request target")) << target;
  }
}

TEST_F(HttpServerTest, TargetMustBeOriginForm) {
  auto raw =
      SendRaw(port_, "GET http://x/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5s);
  EXPECT_EQ(RawStatus(raw.data), 400);
}

TEST_F(HttpServerTest, StalledRequestGets408) {
  // read_timeout is 1 s; the client bound is 10 s.
  auto body_stall =
      SendRaw(port_, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
  EXPECT_EQ(RawStatus(body_stall.data), 408);
  EXPECT_EQ(RawBody(body_stall.data), ErrorBody("request_timeout", "request not received in time"));
  EXPECT_TRUE(body_stall.closed);

  auto header_stall = SendRaw(port_, "GET /echo HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(RawStatus(header_stall.data), 408);
  EXPECT_TRUE(header_stall.closed);
}

TEST_F(HttpServerTest, StreamsChunksIntact) {
  StreamReader reader(port_, "GET", "/stream?n=50");
  EXPECT_EQ(reader.status(), 200);
  EXPECT_TRUE(reader.chunked());
  EXPECT_EQ(reader.Header("content-type"), "application/x-ndjson");
  EXPECT_FALSE(reader.Header("content-length").has_value());
  // Timing headers as of StartStream: the statement recorded before it counts.
  EXPECT_EQ(reader.Header("x-db-statements"), "1");
  ASSERT_TRUE(reader.Header("server-timing").has_value());
  EXPECT_EQ(reader.Header("server-timing")->rfind("db;dur=1.000, app;dur=", 0), 0u);
  for (int i = 0; i < 50; ++i) {
    auto chunk = reader.NextChunk();
    ASSERT_TRUE(chunk.has_value()) << i;
    EXPECT_EQ(*chunk, "{\"line\":" + std::to_string(i) + "}\n");
  }
  EXPECT_FALSE(reader.NextChunk().has_value());
  EXPECT_TRUE(WasObserved("GET", "/stream", 200));
}

TEST_F(HttpServerTest, LargeStreamThroughPlainClient) {
  HttpResult res = Get(port_, "/stream?n=5000");
  EXPECT_EQ(res.status, 200);
  std::string expected;
  for (int i = 0; i < 5000; ++i) expected += "{\"line\":" + std::to_string(i) + "}\n";
  EXPECT_EQ(res.body, expected);
}

TEST_F(HttpServerTest, ClientDisconnectMidStreamStopsTheProducer) {
  {
    StreamReader reader(port_, "GET", "/stream-forever");
    ASSERT_EQ(reader.status(), 200);
    for (int i = 0; i < 3; ++i) {
      auto chunk = reader.NextChunk();
      ASSERT_TRUE(chunk.has_value());
      EXPECT_EQ(chunk->size(), 1024u);
    }
    reader.Disconnect();
  }
  EXPECT_TRUE(WaitFor([&] { return client_gone_.load(); }));
  EXPECT_EQ(Get(port_, "/items/1").status, 200);
}

TEST_F(HttpServerTest, ErrorAfterStreamStartClosesConnection) {
  StreamReader reader(port_, "GET", "/stream-then-throw");
  EXPECT_EQ(reader.status(), 200);
  EXPECT_EQ(reader.NextChunk(), "first");
  EXPECT_THROW(reader.NextChunk(), std::runtime_error);
  EXPECT_EQ(Get(port_, "/items/1").status, 200);
}

TEST_F(HttpServerTest, MaxConnectionsEnforced) {
  Shutdown();
  ServerLimits limits = TestLimits();
  limits.max_connections = 2;
  Start(limits);
  {
    HttpConnection a(port_);
    HttpConnection b(port_);
    ASSERT_EQ(a.Send("GET", "/items/a").status, 200);
    ASSERT_EQ(b.Send("GET", "/items/b").status, 200);
    HttpResult rejected = Get(port_, "/items/c");
    EXPECT_EQ(rejected.status, 503);
    EXPECT_EQ(rejected.body, ErrorBody("unavailable", "too many open connections; retry later"));
    EXPECT_EQ(rejected.Header("connection"), "close");
    // The admitted ones still work.
    EXPECT_EQ(a.Send("GET", "/items/a2").status, 200);
  }
  // Once they are closed, new connections are served again.
  EXPECT_TRUE(WaitFor([&] { return Get(port_, "/items/d").status == 200; }));
}

TEST_F(HttpServerTest, StopClosesIdleConnectionsPromptly) {
  HttpConnection conn(port_);
  ASSERT_EQ(conn.Send("GET", "/items/1").status, 200);
  server_->Stop();
  EXPECT_TRUE(conn.WaitForClose(5s));
  // The listener is gone too.
  EXPECT_TRUE(WaitFor([&] {
    try {
      Get(port_, "/items/1");
      return false;
    } catch (const std::runtime_error&) {
      return true;
    }
  }));
  Shutdown();  // io threads run out of work: nothing left open
}

TEST_F(HttpServerTest, StopLetsInFlightResponseFinish) {
  HttpResult res;
  std::thread client([&] { res = Get(port_, "/slow"); });
  ASSERT_TRUE(WaitFor([&] { return slow_started_.load(); }));
  server_->Stop();
  slow_release_ = true;
  client.join();
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "slow done");
  EXPECT_EQ(res.Header("connection"), "close");
}

TEST_F(HttpServerTest, BindFailureIsUnavailable) {
  Server other(ioc_.get_executor(), Router{});
  try {
    other.Listen("127.0.0.1", port_);
    ADD_FAILURE() << "Listen on a busy port succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port_)), std::string::npos)
        << e.what();
  }
}

TEST_F(HttpServerTest, GarbageNeverCrashesTheServer) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 40; ++i) {
    std::string bytes(1 + rng() % 600, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 256);
    if (i % 2 == 0) bytes = "GET /" + bytes;
    bytes += "\r\n\r\n";
    auto raw = SendRaw(port_, bytes, 5s);
    int status = RawStatus(raw.data);
    EXPECT_TRUE(status == 0 || status == 400 || status == 404 || status == 408 || status == 431)
        << status;
  }
  EXPECT_EQ(Get(port_, "/items/ok").body, "item ok");
}

TEST(HttpServerLifecycleTest, CreateAndDestroyManyServers) {
  for (int i = 0; i < 20; ++i) {
    asio::io_context ioc;
    Router router;
    router.Add("GET", "/ping", [](Exchange&) -> asio::awaitable<Response> {
      co_return Response{200, "text/plain", "pong", {}};
    });
    auto server = std::make_unique<Server>(ioc.get_executor(), std::move(router));
    const std::uint16_t port = server->Listen("127.0.0.1", 0);
    std::thread io([&] { ioc.run(); });
    {
      HttpConnection idle(port);  // left open: destruction must not wait for it
      EXPECT_EQ(idle.Send("GET", "/ping").body, "pong");
      server.reset();  // ~Server stops it
      EXPECT_TRUE(idle.WaitForClose(5s));
    }
    io.join();
  }
}

}  // namespace
}  // namespace mljobs::http

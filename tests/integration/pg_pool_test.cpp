// The PostgreSQL pool and connection under failure: pool exhaustion, an outage through a
// TCP proxy and the recovery after it, broken and old connections replaced, prepared
// statements prepared again on a fresh connection. Real PostgreSQL only.
#include "store/postgres/pg_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "common/error.hpp"
#include "store/postgres/pg_job_store.hpp"
#include "store/postgres/pg_statements.hpp"
#include "support/pg_pooled_store.hpp"
#include "support/run_sync.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_backends.hpp"

namespace mljobs::store::postgres {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::BackendUnavailable;
using testing::kPostgresqlBackend;
using testing::PooledStore;
using testing::TcpProxy;
using testing::TestDatabase;

jobs::NewJob MakeJob(int n) {
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "01890000-0000-7000-8000-%012x", n);
  jobs::NewJob job;
  job.uuid = uuid;
  job.owner = "alice";
  job.model = "sentiment";
  job.input_text = "text " + std::to_string(n);
  job.created_at = 1'700'000'000'000'000 + n;
  return job;
}

// The error code a coroutine throws, or nullopt when it succeeds.
template <typename T>
asio::awaitable<std::optional<ErrorCode>> CodeOf(asio::awaitable<T> task) {
  try {
    co_await std::move(task);
  } catch (const Error& e) {
    co_return e.code();
  }
  co_return std::nullopt;
}

class PgPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = BackendUnavailable(kPostgresqlBackend)) GTEST_SKIP() << *why;
    db_ = std::make_unique<TestDatabase>(kPostgresqlBackend);
    PooledStore store(db_->url(), io_.get_executor(), StoreOptions{});
    Run(store->Migrate());
  }

  template <typename T>
  T Run(asio::awaitable<T> task) {
    return testing::RunSync(io_, std::move(task));
  }

  // Ends the server process behind `pid` and waits until it is gone.
  void Terminate(std::int64_t pid) {
    db_->Query("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)");
  }

  // Runs `attempt` until it succeeds, at most twice: a connection whose server went away
  // may only be noticed by the statement that uses it, and then the next must work.
  template <typename F>
  void SucceedsWithinTwoTries(F attempt) {
    for (int i = 0; i < 2; ++i) {
      auto code = Run(CodeOf(attempt()));
      if (!code) return;
      EXPECT_EQ(*code, ErrorCode::kUnavailable);
    }
    ADD_FAILURE() << "still failing on the second try";
  }

  asio::io_context io_;
  std::unique_ptr<TestDatabase> db_;
  obs::RequestStats stats_;
};

TEST_F(PgPoolTest, AcquireTimesOutWhenPoolExhausted) {
  StoreOptions options;
  options.pool_size = 1;
  options.acquire_timeout = 200ms;
  PgPool pool(db_->url(), io_.get_executor(), options);
  Run([&]() -> asio::awaitable<void> {
    auto held = co_await pool.Acquire();
    EXPECT_EQ(co_await CodeOf(pool.Acquire()), ErrorCode::kUnavailable);
  }());
  PgPoolStats stats = pool.Stats();
  EXPECT_EQ(stats.timed_out, 1u);
  EXPECT_EQ(stats.size, 1);
  EXPECT_EQ(stats.idle, 1);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.waiting, 0);
  // The pool works again once the connection is back.
  Run([&]() -> asio::awaitable<void> { auto lease = co_await pool.Acquire(); }());
}

TEST_F(PgPoolTest, WaiterGetsTheReleasedConnection) {
  StoreOptions options;
  options.pool_size = 1;
  options.acquire_timeout = 5s;
  PgPool pool(db_->url(), io_.get_executor(), options);
  bool waiter_done = false;
  Run([&]() -> asio::awaitable<void> {
    auto held = std::make_unique<PgPool::Lease>(co_await pool.Acquire());
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          auto lease = co_await pool.Acquire();
          co_await lease->Run(stats_, PgCommand{kPing.name, kPing.sql});
          waiter_done = true;
        },
        asio::detached);
    asio::steady_timer timer(io_, 50ms);
    co_await timer.async_wait(asio::use_awaitable);
    EXPECT_EQ(pool.Stats().waiting, 1);
    held.reset();
  }());
  EXPECT_TRUE(waiter_done);
  EXPECT_EQ(pool.Stats().acquired, 2u);
  EXPECT_EQ(pool.Stats().timed_out, 0u);
  EXPECT_EQ(pool.Stats().size, 1);
}

TEST_F(PgPoolTest, ExportHoldsItsConnectionAndReleasesItWhenStopped) {
  StoreOptions options;
  options.pool_size = 1;
  options.acquire_timeout = 200ms;
  PooledStore store(db_->url(), io_.get_executor(), options);
  std::vector<jobs::NewJob> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(MakeJob(i));
  Run(store->InsertBatch(stats_, batch));

  int chunks = 0;
  jobs::ExportSink sink = [&](std::span<const jobs::Job> rows) -> asio::awaitable<bool> {
    ++chunks;
    EXPECT_EQ(rows.size(), 3u);
    // The export holds the only connection.
    EXPECT_EQ(co_await CodeOf(store->Ping(stats_)), ErrorCode::kUnavailable);
    co_return false;
  };
  Run(store->Export(stats_, {}, jobs::SortOrder::kDesc, jobs::FieldSet::Light(), 3, sink));
  EXPECT_EQ(chunks, 1);
  // Rolled back and returned to the pool, not discarded.
  Run(store->Ping(stats_));
  EXPECT_EQ(store.PoolStats().discarded, 0u);
  EXPECT_EQ(store.PoolStats().size, 1);
}

TEST_F(PgPoolTest, OutageThroughProxyIsUnavailableThenRecovers) {
  auto [host, port] = TcpProxy::HostPortOf(db_->url());
  TcpProxy proxy(host, port);
  StoreOptions options;
  options.pool_size = 2;
  options.connect_timeout = 2s;
  PooledStore store(proxy.Proxied(db_->url()), io_.get_executor(), options);
  jobs::Job job = Run(store->Insert(stats_, MakeJob(1)));
  EXPECT_EQ(proxy.connections(), 1);

  proxy.Break();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Run(CodeOf(store->Get(stats_, job.uuid, std::nullopt))), ErrorCode::kUnavailable);
  }
  EXPECT_EQ(Run(CodeOf(store->Ping(stats_))), ErrorCode::kUnavailable);

  proxy.Restore();
  // The very next call reconnects: no restart of the store->
  std::optional<jobs::Job> again = Run(store->Get(stats_, job.uuid, std::nullopt));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, job.id);
  Run(store->Ping(stats_));
  EXPECT_EQ(store.PoolStats().in_use, 0);
}

TEST_F(PgPoolTest, OutageInTheMiddleOfAStatementIsUnavailable) {
  auto [host, port] = TcpProxy::HostPortOf(db_->url());
  TcpProxy proxy(host, port);
  StoreOptions options;
  options.pool_size = 1;
  PgPool pool(proxy.Proxied(db_->url()), io_.get_executor(), options);
  Run([&]() -> asio::awaitable<void> {
    auto conn = co_await pool.Acquire();
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          asio::steady_timer timer(io_, 100ms);
          co_await timer.async_wait(asio::use_awaitable);
          proxy.Break();
        },
        asio::detached);
    EXPECT_EQ(co_await CodeOf(
                  conn->Run(stats_, PgCommand{"sleep", "SELECT pg_sleep(5)", nullptr, false})),
              ErrorCode::kUnavailable);
    EXPECT_FALSE(conn->Reusable());
  }());
  EXPECT_EQ(pool.Stats().discarded, 1u);
  EXPECT_EQ(pool.Stats().size, 0);
  proxy.Restore();
  Run([&]() -> asio::awaitable<void> {
    auto conn = co_await pool.Acquire();
    co_await conn->Run(stats_, PgCommand{kPing.name, kPing.sql});
  }());
}

TEST_F(PgPoolTest, ConnectsByHostName) {
  std::string url = db_->url();
  std::size_t at = url.find("127.0.0.1");
  ASSERT_NE(at, std::string::npos) << url;
  url.replace(at, 9, "localhost");
  PooledStore store(url, io_.get_executor(), StoreOptions{});
  Run(store->Ping(stats_));
}

TEST_F(PgPoolTest, RefusedConnectFailsWithoutWaitingForTheTimeout) {
  // A port nothing listens on: bind one, then close it.
  std::uint16_t port;
  {
    TcpProxy unused("127.0.0.1", 1);
    port = unused.port();
  }
  StoreOptions options;
  options.connect_timeout = 60s;
  PooledStore store("postgresql://mljobs@127.0.0.1:" + std::to_string(port) + "/mljobs",
                    io_.get_executor(), options);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(Run(CodeOf(store->Ping(stats_))), ErrorCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
  EXPECT_EQ(store.PoolStats().connect_failures, 1u);
  EXPECT_EQ(store.PoolStats().size, 0);
}

TEST_F(PgPoolTest, BrokenConnectionIsReplaced) {
  StoreOptions options;
  options.pool_size = 1;
  PooledStore store(db_->url(), io_.get_executor(), options);
  Run(store->Ping(stats_));
  db_->Query(
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
      "WHERE datname = current_database() AND application_name = 'mljobs'");
  SucceedsWithinTwoTries([&] { return store->Ping(stats_); });
  EXPECT_EQ(store.PoolStats().discarded, 1u);
  EXPECT_EQ(store.PoolStats().size, 1);
}

TEST_F(PgPoolTest, PreparedStatementsArePreparedAgainOnAFreshConnection) {
  StoreOptions options;
  options.pool_size = 1;
  PgPool pool(db_->url(), io_.get_executor(), options);
  PgParams params;
  params.AddText(MakeJob(1).uuid);
  params.AddNullableText(std::nullopt);
  const PgCommand get{kGetJob.name, kGetJob.sql, &params};
  const PgCommand probe{"probe",
                        "SELECT pg_backend_pid(), "
                        "(SELECT count(*) FROM pg_prepared_statements WHERE name = 'get_job')",
                        nullptr, false};
  auto run_get = [&]() -> asio::awaitable<std::pair<std::int64_t, std::int64_t>> {
    auto conn = co_await pool.Acquire();
    // Prepared and executed in one pipeline on first use, executed alone after.
    for (int i = 0; i < 2; ++i) {
      PgResult rows = co_await conn->Run(stats_, get);
      EXPECT_EQ(rows.Rows(), 0);
    }
    EXPECT_EQ(conn->PreparedCount(), 1u);
    PgResult r = co_await conn->Run(stats_, probe);
    co_return std::pair{r.Int(0, 0), r.Int(0, 1)};
  };
  auto [first_pid, first_prepared] = Run(run_get());
  EXPECT_EQ(first_prepared, 1);
  Terminate(first_pid);

  std::pair<std::int64_t, std::int64_t> second{};
  SucceedsWithinTwoTries([&]() -> asio::awaitable<void> { second = co_await run_get(); });
  EXPECT_NE(second.first, first_pid);
  EXPECT_EQ(second.second, 1);
}

TEST_F(PgPoolTest, PreparedStatementsPerConnectionAreBounded) {
  PgPool pool(db_->url(), io_.get_executor(), StoreOptions{});
  constexpr std::size_t kShapes = PgConnection::kMaxPrepared + 25;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kShapes; ++i) names.push_back("shape_" + std::to_string(i));
  Run([&]() -> asio::awaitable<void> {
    auto conn = co_await pool.Acquire();
    for (int round = 0; round < 2; ++round) {
      for (const std::string& name : names) {
        PgResult r = co_await conn->Run(stats_, PgCommand{name, "SELECT 7"});
        EXPECT_EQ(r.Int(0, 0), 7);
      }
    }
    EXPECT_EQ(conn->PreparedCount(), PgConnection::kMaxPrepared);
    PgResult held = co_await conn->Run(
        stats_, PgCommand{"held", "SELECT count(*) FROM pg_prepared_statements", nullptr, false});
    EXPECT_EQ(held.Int(0, 0), static_cast<std::int64_t>(PgConnection::kMaxPrepared));
  }());
}

TEST_F(PgPoolTest, StatementErrorsLeaveTheConnectionUsable) {
  StoreOptions options;
  options.pool_size = 1;
  PooledStore store(db_->url(), io_.get_executor(), options);
  jobs::Job job = Run(store->Insert(stats_, MakeJob(1)));
  EXPECT_EQ(Run(CodeOf(store->Insert(stats_, MakeJob(1)))), ErrorCode::kConflict);
  std::vector<jobs::NewJob> batch{MakeJob(2), MakeJob(1)};
  EXPECT_EQ(Run(CodeOf(store->InsertBatch(stats_, batch))), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(Run(store->Get(stats_, MakeJob(2).uuid, std::nullopt)));  // all or nothing
  EXPECT_TRUE(Run(store->Get(stats_, job.uuid, std::nullopt)));
  EXPECT_EQ(store.PoolStats().discarded, 0u);

  PgPool pool(db_->url(), io_.get_executor(), options);
  Run([&]() -> asio::awaitable<void> {
    auto conn = co_await pool.Acquire();
    // A statement that fails to prepare aborts its pipeline; the next one runs.
    EXPECT_EQ(co_await CodeOf(conn->Run(stats_, PgCommand{"broken", "SELEC 1"})),
              ErrorCode::kInternal);
    EXPECT_TRUE(conn->Reusable());
    PgResult one = co_await conn->Run(stats_, PgCommand{kPing.name, kPing.sql});
    EXPECT_EQ(one.Int(0, 0), 1);
  }());
}

// Statements marked generic_plan run with plan_cache_mode = force_generic_plan, the others
// with the session's custom plans; inside a transaction the mode is left as it is.
TEST_F(PgPoolTest, GenericPlanStatementsSwitchThePlanModeOutsideTransactions) {
  StoreOptions options;
  options.pool_size = 1;
  PgPool pool(db_->url(), io_.get_executor(), options);
  constexpr std::string_view kShow = "SELECT current_setting('plan_cache_mode')";
  Run([&]() -> asio::awaitable<void> {
    auto conn = co_await pool.Acquire();
    auto mode = [&](std::string_view name, bool generic) -> asio::awaitable<std::string> {
      PgResult r = co_await conn->Run(stats_, PgCommand{name, kShow, nullptr, true, generic});
      co_return std::string(r.Text(0, 0));
    };
    EXPECT_EQ(co_await mode("show_custom", false), "force_custom_plan");
    EXPECT_EQ(co_await mode("show_generic", true), "force_generic_plan");
    EXPECT_EQ(co_await mode("show_generic", true), "force_generic_plan");
    EXPECT_EQ(co_await mode("show_custom", false), "force_custom_plan");
    co_await conn->Run(stats_, PgCommand{"begin", "BEGIN", nullptr, false});
    EXPECT_EQ(co_await mode("show_generic", true), "force_custom_plan");
    co_await conn->Run(stats_, PgCommand{"rollback", "ROLLBACK", nullptr, false});
    EXPECT_EQ(co_await mode("show_generic", true), "force_generic_plan");
  }());
}

TEST_F(PgPoolTest, OldConnectionsAreRecycled) {
  StoreOptions options;
  options.pool_size = 1;
  options.recycle_after = 0s;
  PooledStore store(db_->url(), io_.get_executor(), options);
  Run(store->Ping(stats_));
  Run(store->Ping(stats_));
  Run(store->Ping(stats_));
  EXPECT_EQ(store.PoolStats().recycled, 2u);
  EXPECT_EQ(store.PoolStats().size, 1);
}

TEST_F(PgPoolTest, ManyCoroutinesOnManyThreadsShareABoundedPool) {
  StoreOptions options;
  options.pool_size = 3;
  options.acquire_timeout = 10s;
  asio::thread_pool threads(4);
  PooledStore store(db_->url(), threads.get_executor(), options);
  Run(store->Insert(stats_, MakeJob(1)));
  constexpr int kTasks = 64;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < kTasks; ++i) {
    asio::co_spawn(
        threads,
        [&]() -> asio::awaitable<void> {
          obs::RequestStats stats;
          co_await store->Ping(stats);
          auto job = co_await store->Get(stats, MakeJob(1).uuid, std::nullopt);
          if (job && stats.statements() == 2) ++ok;
        },
        [&](std::exception_ptr e) {
          if (e) ++failed;
        });
  }
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (ok + failed < kTasks && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(ok, kTasks);
  EXPECT_EQ(failed, 0);
  PgPoolStats stats = store.PoolStats();
  EXPECT_LE(stats.size, 3);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.acquired, 2u * kTasks + 1);
}

}  // namespace
}  // namespace mljobs::store::postgres

#include "cli/app.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_future.hpp>
#include <iostream>
#include <thread>
#include <vector>

#include "api/routes.hpp"
#include "common/error.hpp"
#include "jobs/auth_service.hpp"
#include "jobs/job_service.hpp"
#include "jobs/queue_service.hpp"
#include "jobs/stats_service.hpp"
#include "jobs/archive_service.hpp"
#include "obs/request_metrics.hpp"
#include "obs/statement_registry.hpp"
#include "store/open_store.hpp"

namespace mljobs::cli {

namespace asio = boost::asio;

struct App::Impl {
  AppOptions options;
  asio::io_context io;
  std::unique_ptr<store::Backend> backend;
  std::unique_ptr<jobs::JobService> service;
  std::unique_ptr<jobs::QueueService> queue;
  std::unique_ptr<jobs::StatsService> stats;
  std::unique_ptr<jobs::ArchiveService> archive;
  std::unique_ptr<jobs::AuthService> auth;
  obs::RequestMetrics request_metrics;
  std::unique_ptr<http::Server> server;
  std::vector<std::thread> threads;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  explicit Impl(AppOptions o) : options(std::move(o)), io(std::max(1, options.threads)) {}

  // Runs a coroutine on the io_context from this (non-io) thread and waits for it.
  template <typename T>
  T RunOnIo(asio::awaitable<T> task) {
    return asio::co_spawn(io, std::move(task), asio::use_future).get();
  }
};

App::App(AppOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

namespace {

// 127.0.0.0/8, ::1 or "localhost": only this machine can reach an unauthenticated server.
bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

}  // namespace

App::~App() { Stop(); }

std::uint16_t App::Start() {
  Impl& m = *impl_;
  obs::StatementRegistry::Global().SetSlowThreshold(
      std::chrono::milliseconds(std::max(0, m.options.slow_query_ms)));
  m.work.emplace(m.io.get_executor());
  for (int i = 0; i < std::max(1, m.options.threads); ++i) {
    m.threads.emplace_back([&m] { m.io.run(); });
  }
  try {
    if (!m.options.auth && !IsLoopback(m.options.host)) {
      throw Error(ErrorCode::kInvalidArgument,
                  "--auth=off is allowed only when listening on loopback (127.0.0.0/8, ::1, "
                  "localhost); got '" + m.options.host + "'");
    }
    m.backend = store::OpenBackend(m.options.db_url, m.io.get_executor(), m.options.store);
    m.RunOnIo(m.backend->jobs().Migrate());
    obs::RequestStats stats;
    std::string secret = m.RunOnIo(m.backend->jobs().ServerSecret(stats));
    m.service = std::make_unique<jobs::JobService>(m.backend->jobs(), std::move(secret));
    m.auth = std::make_unique<jobs::AuthService>(m.backend->tokens());
    if (m.options.auth) {
      if (auto created = m.RunOnIo(m.auth->Bootstrap(stats))) {
        // The only time this token is ever shown: the database keeps its hash alone.
        std::cerr << "mljobs: no tokens yet; created admin token '" << created->info.name
                  << "' (shown once, keep it): " << created->token << std::endl;
      }
    }
    const api::Guard guard(m.options.auth ? m.auth.get() : nullptr);

    m.stats = std::make_unique<jobs::StatsService>(m.backend->stats());
    m.archive = std::make_unique<jobs::ArchiveService>(m.backend->archive());
    http::Router router;
    api::AddStatsRoutes(router, *m.stats, guard);
    api::AddArchiveRoutes(router, *m.archive, guard);
    api::AddJobRoutes(router, *m.service, guard);
    api::AddAdminRoutes(router, m.backend->name(), m.backend->admin(), guard);
    m.queue = std::make_unique<jobs::QueueService>(m.backend->queue());
    api::AddMetricsRoutes(router, m.backend->admin(), *m.stats, *m.queue, m.request_metrics, guard);
    api::AddHealthRoutes(router, *m.service);
    api::AddQueueRoutes(router, *m.queue, guard);
    // Expired leases go back to pending within about a second, without a separate process.
    asio::co_spawn(m.io, m.queue->RunReaper(std::chrono::seconds(1)), asio::detached);
    obs::RequestMetrics* metrics = &m.request_metrics;
    m.server = std::make_unique<http::Server>(
        m.io.get_executor(), std::move(router), m.options.limits,
        [metrics](std::string_view method, std::string_view route, int status,
                  std::chrono::nanoseconds elapsed) {
          metrics->Record(method, route, status, elapsed);
        });
    return m.server->Listen(m.options.host, m.options.port);
  } catch (...) {
    Stop();
    throw;
  }
}

void App::WaitForSignal() {
  asio::io_context signals_io;
  asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int) {});
  signals_io.run();
  Stop();
}

void App::Stop() {
  Impl& m = *impl_;
  if (m.queue) m.queue->Stop();  // ends the reaper and long polls, which would hold the io
  if (m.server) m.server->Stop();
  m.work.reset();
  // Open connections finish their current response; then the threads run out of work.
  // Anything still pending after that (long polls, streams) is cut by stopping the context.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!m.io.stopped() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const bool forced = !m.io.stopped();
  m.io.stop();
  for (auto& t : m.threads) t.join();
  m.threads.clear();
  if (forced) {
    // Coroutines still suspended (a stream to a stalled client, say) are destroyed with the
    // io_context, and their locals may point into the store and service: keep those
    // alive for the rest of the process rather than risk a use-after-free at shutdown.
    std::cerr << "mljobs: requests still running after 5 s; stopped them" << std::endl;
    (void)m.service.release();
    (void)m.queue.release();
    (void)m.stats.release();
    (void)m.archive.release();
    (void)m.auth.release();
    (void)m.backend.release();
  }
  m.server.reset();
  m.service.reset();
  m.queue.reset();
  m.stats.reset();
  m.archive.reset();
  m.auth.reset();
  m.backend.reset();
}

}  // namespace mljobs::cli

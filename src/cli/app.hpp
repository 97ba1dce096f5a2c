// The assembled service: store, job service, routes and HTTP server on an io_context run
// by N threads. `mljobs serve` runs one; integration tests start one in-process on port 0.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "http/server.hpp"
#include "store/store_options.hpp"

namespace mljobs::cli {

struct AppOptions {
  std::string db_url;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (tests)
  int threads = 2;
  store::StoreOptions store;
  http::ServerLimits limits;
  // Bearer tokens on every route but /healthz and /readyz. Off is refused unless `host`
  // is a loopback address.
  bool auth = true;
  // Statements at least this slow are logged to stderr and kept in the slow query ring.
  int slow_query_ms = 100;
};

class App {
 public:
  explicit App(AppOptions options);
  ~App();  // stops and joins if still running
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Migrates the database, loads the cursor secret, binds and starts the io threads.
  // Returns the bound port. Throws Error (kUnavailable when the database is down).
  std::uint16_t Start();

  // Blocks until SIGINT/SIGTERM, then stops gracefully.
  void WaitForSignal();

  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mljobs::cli

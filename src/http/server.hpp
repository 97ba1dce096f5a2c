// The HTTP/1.1 server: accepts connections and runs one coroutine per connection that
// reads a request (with limits and deadlines), routes it, and writes the response with
// Server-Timing and X-DB-Statements. Knows no domain. Beast stays inside server.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/router.hpp"

namespace mljobs::http {

struct ServerLimits {
  std::size_t max_header_bytes = 16 * 1024;        // request line + headers; 431 past it
  std::size_t max_body_bytes = 32 * 1024 * 1024;   // 413 past it
  std::chrono::seconds read_timeout{15};           // a stalled request is dropped (408)
  std::chrono::seconds idle_timeout{60};           // keep-alive connection with no request
  std::chrono::seconds write_timeout{30};
  int max_connections = 1024;                      // more are accepted and closed at once
};

// Called once per finished request (metrics hook); route is the pattern or "unmatched".
using RequestObserver = std::function<void(std::string_view method, std::string_view route,
                                           int status, std::chrono::nanoseconds elapsed)>;

class Server {
 public:
  Server(boost::asio::any_io_executor ex, Router router, ServerLimits limits = {},
         RequestObserver observer = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting; returns the bound port (useful with port 0 in tests).
  // Throws Error(kUnavailable) when the address cannot be bound.
  std::uint16_t Listen(const std::string& host, std::uint16_t port);

  // Stops accepting and closes open connections after their current response.
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mljobs::http

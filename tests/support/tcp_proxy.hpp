// A loopback TCP forwarder for tests that simulates a database outage without touching the
// server: Break() drops every forwarded connection and refuses new ones, Restore() ends
// the outage. Runs on its own thread and io_context; its methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace mljobs::testing {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 (an ephemeral port) and forwards each connection to host:port.
  TcpProxy(std::string target_host, std::uint16_t target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  std::uint16_t port() const;
  // Closes all forwarded connections; until Restore(), new ones are accepted and closed at
  // once (the client sees the server hang up). Returns when every connection is closed.
  void Break();
  void Restore();
  // Forwarded connections open now.
  int connections() const;

  // `url` (a postgresql:// URI) rewritten to reach its server through this proxy.
  std::string Proxied(const std::string& url) const;

  // host and port of a postgresql://user@host:port/db URI (port 5432 when absent).
  static std::pair<std::string, std::uint16_t> HostPortOf(const std::string& url);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mljobs::testing

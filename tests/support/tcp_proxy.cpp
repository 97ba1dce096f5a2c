#include "support/tcp_proxy.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <set>
#include <stdexcept>
#include <thread>

namespace mljobs::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

struct Session {
  explicit Session(tcp::socket client_socket)
      : client(std::move(client_socket)), server(client.get_executor()) {}
  void Close() {
    boost::system::error_code ignored;
    client.close(ignored);
    server.close(ignored);
  }
  tcp::socket client;
  tcp::socket server;
};

}  // namespace

// Everything below runs on the proxy's own io thread; the public methods post to it.
struct TcpProxy::Impl {
  Impl(std::string host, std::uint16_t port)
      : target(asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host), port),
        acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}

  asio::awaitable<void> Accept() {
    while (true) {
      auto [ec, socket] = co_await acceptor.async_accept(kAsTuple);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;
      if (broken) continue;  // `socket` closes as it goes out of scope
      auto session = std::make_shared<Session>(std::move(socket));
      sessions.insert(session);
      asio::co_spawn(io, Forward(session), asio::detached);
    }
  }

  asio::awaitable<void> Forward(std::shared_ptr<Session> session) {
    auto [ec] = co_await session->server.async_connect(target, kAsTuple);
    if (ec) {
      End(session);
      co_return;
    }
    asio::co_spawn(io, Pump(session, session->server, session->client), asio::detached);
    co_await Pump(session, session->client, session->server);
  }

  // Copies one direction until either side closes, then ends the session.
  asio::awaitable<void> Pump(std::shared_ptr<Session> session, tcp::socket& from, tcp::socket& to) {
    std::array<char, 16384> buffer;
    while (true) {
      auto [read_ec, n] = co_await from.async_read_some(asio::buffer(buffer), kAsTuple);
      if (read_ec) break;
      auto [write_ec, m] = co_await asio::async_write(to, asio::buffer(buffer.data(), n), kAsTuple);
      if (write_ec) break;
    }
    End(session);
  }

  void End(const std::shared_ptr<Session>& session) {
    session->Close();
    sessions.erase(session);
  }

  void CloseAll() {
    for (const auto& session : sessions) session->Close();
    sessions.clear();
  }

  // Runs `f` on the io thread and waits for it.
  template <typename F>
  auto OnIoThread(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io, [&task] { task(); });
    return result.get();
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  tcp::endpoint target;
  tcp::acceptor acceptor;
  std::set<std::shared_ptr<Session>> sessions;
  bool broken = false;
  std::thread thread;
};

TcpProxy::TcpProxy(std::string target_host, std::uint16_t target_port)
    : impl_(std::make_unique<Impl>(std::move(target_host), target_port)) {
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

TcpProxy::~TcpProxy() {
  impl_->OnIoThread([impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->CloseAll();
  });
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}

std::uint16_t TcpProxy::port() const { return impl_->acceptor.local_endpoint().port(); }

void TcpProxy::Break() {
  impl_->OnIoThread([impl = impl_.get()] {
    impl->broken = true;
    impl->CloseAll();
  });
}

void TcpProxy::Restore() {
  impl_->OnIoThread([impl = impl_.get()] { impl->broken = false; });
}

int TcpProxy::connections() const {
  return impl_->OnIoThread(
      [impl = impl_.get()] { return static_cast<int>(impl->sessions.size()); });
}

std::pair<std::string, std::uint16_t> TcpProxy::HostPortOf(const std::string& url) {
  std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) throw std::invalid_argument("not a URI: " + url);
  std::size_t start = scheme + 3;
  std::size_t end = url.find_first_of("/?", start);
  std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
  std::size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  std::size_t colon = authority.rfind(':');
  if (colon == std::string::npos) return {authority, 5432};
  return {authority.substr(0, colon),
          static_cast<std::uint16_t>(std::stoi(authority.substr(colon + 1)))};
}

std::string TcpProxy::Proxied(const std::string& url) const {
  std::size_t start = url.find("://");
  if (start == std::string::npos) throw std::invalid_argument("not a URI: " + url);
  start += 3;
  std::size_t end = url.find_first_of("/?", start);
  if (end == std::string::npos) end = url.size();
  std::size_t at = url.rfind('@', end);
  if (at != std::string::npos && at >= start) start = at + 1;
  return url.substr(0, start) + "127.0.0.1:" + std::to_string(port()) + url.substr(end);
}

}  // namespace mljobs::testing

// The HTTP/1.1 server: an accept loop and one coroutine per connection, each on its own
// strand of the executor the caller runs on any number of threads.
//
// A connection's life: wait for the first byte of a request (idle_timeout), read the
// request under the limits (read_timeout, max_header_bytes, max_body_bytes), route it,
// run the handler, write the response (write_timeout), and loop while keep-alive holds.
// Failures of the HTTP layer answer with the JSON error body and close:
//   400 bad_request        malformed request, target not origin-form, bad percent-encoding
//   408 request_timeout    the request did not arrive within read_timeout of its first byte
//   413 payload_too_large  body over max_body_bytes (Content-Length or chunked)
//   431 header_too_large   request line + headers over max_header_bytes (long URLs too)
//   503 unavailable        over max_connections (answered, then closed)
// Routing failures keep the connection: 404 not_found, 405 method_not_allowed (+ Allow).
// The RequestObserver sees every answered request, the HTTP layer's own errors included
// (route "unmatched", method "UNKNOWN" when the request line was unreadable); it does not
// see 503s to surplus connections nor clients that vanished before a request was whole.
// Stop() is asynchronous: it returns at once; the connections end on the io threads, so
// the executor must keep running (or be destroyed) after it. The Server must be
// destroyed before its io_context.
// Path handling: the path is percent-decoded segment-wise; an encoded '/' (%2F) or NUL
// (%00) in the path is rejected with 400, so the decoded path splits into the same
// segments as the raw one.
#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace mljobs::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kReadChunk = 16 * 1024;
// After an error response the server stops reading the request; closing with unread
// bytes would send RST and the client could lose the response. So it shuts down its
// side and drains for a bounded while ("lingering close").
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 4 * 1024 * 1024;
// Connections over max_connections get a 503; at most this many such answers at once,
// past that they are closed without one.
constexpr int kMaxRejecting = 64;
constexpr auto kRejectTimeout = std::chrono::seconds(1);

void LogLine(std::string line) {
  line.insert(0, "mljobs http: ");
  line.push_back('\n');
  std::cerr << line << std::flush;
}

std::string ServerTiming(std::chrono::nanoseconds db, std::chrono::nanoseconds total) {
  auto app = total - db;
  if (app.count() < 0) app = std::chrono::nanoseconds(0);
  char buf[96];
  std::snprintf(buf, sizeof buf, "db;dur=%.3f, app;dur=%.3f", static_cast<double>(db.count()) / 1e6,
                static_cast<double>(app.count()) / 1e6);
  return buf;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in`; nullopt on a malformed escape. In a path, '+' stays itself and an
// escape that decodes to '/' or NUL is refused; in a query, '+' is a space.
std::optional<std::string> PercentDecode(std::string_view in, bool is_query) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      char decoded = static_cast<char>(hi * 16 + lo);
      if (!is_query && (decoded == '/' || decoded == '\0')) return std::nullopt;
      out.push_back(decoded);
      i += 2;
    } else if (c == '+' && is_query) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Splits an origin-form target into the decoded path and query; false when malformed.
bool ParseTarget(std::string_view target, Request& request) {
  if (target.empty() || target.front() != '/') return false;
  auto qmark = target.find('?');
  std::string_view raw_path = target.substr(0, qmark);
  auto path = PercentDecode(raw_path, false);
  if (!path) return false;
  request.path = std::move(*path);
  if (qmark == std::string_view::npos) return true;
  std::string_view query = target.substr(qmark + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) continue;
    auto eq = piece.find('=');
    auto key = PercentDecode(piece.substr(0, eq), true);
    auto value = PercentDecode(
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1), true);
    if (!key || !value) return false;
    request.query.emplace_back(std::move(*key), std::move(*value));
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Headers the server owns; a handler's Response may not set them.
bool IsReservedHeader(std::string_view name) {
  return beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
         beast::iequals(name, "connection") || beast::iequals(name, "server-timing") ||
         beast::iequals(name, "x-db-statements");
}

bool IsParseError(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

// Deadline for reading one request. beast::tcp_stream's own timeout closes the socket,
// which would leave no way to answer 408, so this timer only cancels the pending read.
// One per connection, re-armed for each request; runs on the connection's strand, like
// everything touching the stream. The generation ignores a wake-up that was already
// queued when the deadline was disarmed.
class ReadDeadline {
 public:
  explicit ReadDeadline(beast::tcp_stream& stream)
      : state_(std::make_shared<State>()), timer_(stream.get_executor()) {
    state_->stream = &stream;
  }
  ReadDeadline(const ReadDeadline&) = delete;
  ReadDeadline& operator=(const ReadDeadline&) = delete;
  ~ReadDeadline() {
    state_->stream = nullptr;
    timer_.cancel();
  }

  void Arm(Clock::duration timeout) {
    const std::uint64_t generation = ++state_->generation;
    state_->armed = true;
    state_->fired = false;
    timer_.expires_after(timeout);
    timer_.async_wait([state = state_, generation](const error_code& ec) {
      if (ec || !state->armed || state->generation != generation || !state->stream) return;
      state->fired = true;
      error_code ignored;
      state->stream->socket().cancel(ignored);
    });
  }

  // Stops the deadline; true when it fired since Arm().
  bool Disarm() {
    state_->armed = false;
    timer_.cancel();
    return state_->fired;
  }

 private:
  struct State {
    beast::tcp_stream* stream = nullptr;
    std::uint64_t generation = 0;
    bool armed = false;
    bool fired = false;
  };
  std::shared_ptr<State> state_;
  asio::steady_timer timer_;
};

// What Stop() needs to reach a connection. Touched only on the connection's strand.
struct Connection {
  asio::any_io_executor strand;
  beast::tcp_stream* stream = nullptr;  // null once the session is ending
  bool idle = false;                    // waiting for the first byte of a request
};

bool ExpectsContinue(const bhttp::request<bhttp::string_body>& req) {
  return req.version() >= 11 && beast::iequals(req[bhttp::field::expect], "100-continue");
}

// Statuses a handler may answer with; anything else is a bug turned into a 500.
bool IsValidStatus(int status) { return status >= 200 && status <= 599; }

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Sets what every response carries: status, Content-Type, the handler's extra headers,
// Server-Timing, X-DB-Statements and keep-alive.
template <class Body>
void SetHeaders(bhttp::response<Body>& res, int status, std::string_view content_type,
                const std::vector<std::pair<std::string, std::string>>& extra,
                const obs::RequestStats& stats, std::chrono::nanoseconds handler_time,
                unsigned version, bool keep_alive) {
  res.version(version);
  res.result(static_cast<unsigned>(status));
  if (!content_type.empty() && !HasLineBreak(content_type)) {
    res.set(bhttp::field::content_type, content_type);
  }
  for (const auto& [name, value] : extra) {
    if (name.empty() || IsReservedHeader(name) || HasLineBreak(name) || HasLineBreak(value)) {
      continue;
    }
    res.insert(name, value);
  }
  res.set("Server-Timing", ServerTiming(stats.db_time(), handler_time));
  res.set("X-DB-Statements", std::to_string(stats.statements()));
  res.keep_alive(keep_alive);
}

bhttp::response<bhttp::string_body> BuildResponse(Response response, const obs::RequestStats& stats,
                                                  std::chrono::nanoseconds handler_time,
                                                  unsigned version, bool keep_alive) {
  if (!IsValidStatus(response.status)) {
    LogLine("handler returned invalid status " + std::to_string(response.status));
    response = ErrorResponse(500, "internal", "internal error");
  }
  bhttp::response<bhttp::string_body> res;
  SetHeaders(res, response.status, response.content_type, response.headers, stats, handler_time,
             version, keep_alive);
  if (response.status == 204 || response.status == 304) response.body.clear();
  res.body() = std::move(response.body);
  res.prepare_payload();
  return res;
}

Response ErrorFromException(const Error& e) {
  const int status = HttpStatus(e.code());
  if (status >= 500) LogLine(std::string("handler error: ") + e.what());
  std::string_view code = e.reason().empty() ? CodeName(e.code()) : std::string_view(e.reason());
  return ErrorResponse(status, code, e.what());
}

// Shuts down the sending side and reads (discarding) until the client closes or a bound
// is reached, so the client reads the response before the socket goes away.
asio::awaitable<void> LingerClose(beast::tcp_stream& stream, Clock::duration max_wait) {
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(max_wait);
  std::array<char, 4096> scratch;
  std::size_t total = 0;
  while (total < kLingerBytes) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kAsTuple);
    if (ec) break;
    total += n;
  }
  stream.close();
}

class ServerCore;

// The Exchange a handler gets: the request, its stats, and chunked streaming on the
// connection's stream. Used only from the handler's coroutine (the connection's strand).
class SessionExchange final : public Exchange {
 public:
  SessionExchange(beast::tcp_stream& stream, const Request& request, obs::RequestStats& stats,
                  unsigned version, bool keep_alive, Clock::time_point handler_start,
                  Clock::duration write_timeout)
      : stream_(stream),
        request_(request),
        stats_(stats),
        version_(version),
        keep_alive_(keep_alive),
        handler_start_(handler_start),
        write_timeout_(write_timeout) {}

  const Request& request() const override { return request_; }
  obs::RequestStats& stats() override { return stats_; }

  asio::awaitable<void> StartStream(int status, std::string_view content_type) override {
    if (started_) throw Error(ErrorCode::kInternal, "StartStream called twice");
    if (!IsValidStatus(status)) {
      throw Error(ErrorCode::kInternal,
                  "StartStream with invalid status " + std::to_string(status));
    }
    started_ = true;
    status_ = status;
    // HTTP/1.0 has no chunked encoding: the body is sent raw and ends with the connection.
    chunked_ = version_ >= 11;
    if (!chunked_) keep_alive_ = false;
    bhttp::response<bhttp::empty_body> res;
    SetHeaders(res, status, content_type, {}, stats_, Clock::now() - handler_start_, version_,
               keep_alive_);
    if (chunked_) res.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer(res);
    stream_.expires_after(write_timeout_);
    auto [ec, n] = co_await bhttp::async_write_header(stream_, serializer, kAsTuple);
    if (ec) broken_ = true;
  }

  asio::awaitable<bool> WriteChunk(std::string_view data) override {
    if (!started_) throw Error(ErrorCode::kInternal, "WriteChunk before StartStream");
    if (broken_) co_return false;
    if (data.empty()) co_return true;  // an empty chunk would end the body
    stream_.expires_after(write_timeout_);
    error_code ec;
    if (chunked_) {
      auto [e, n] =
          co_await asio::async_write(stream_, bhttp::make_chunk(asio::buffer(data)), kAsTuple);
      ec = e;
    } else {
      auto [e, n] = co_await asio::async_write(stream_, asio::buffer(data), kAsTuple);
      ec = e;
    }
    if (ec) broken_ = true;
    co_return !ec;
  }

  // Ends a streamed body; false when the connection is unusable afterwards.
  asio::awaitable<bool> Finish() {
    if (broken_) co_return false;
    if (!chunked_) co_return false;
    stream_.expires_after(write_timeout_);
    auto [ec, n] = co_await asio::async_write(stream_, bhttp::make_chunk_last(), kAsTuple);
    if (ec) broken_ = true;
    co_return !ec;
  }

  bool started() const { return started_; }
  bool keep_alive() const { return keep_alive_; }
  int status() const { return status_; }
  void set_keep_alive(bool keep_alive) { keep_alive_ = keep_alive; }

 private:
  beast::tcp_stream& stream_;
  const Request& request_;
  obs::RequestStats& stats_;
  const unsigned version_;
  bool keep_alive_;
  const Clock::time_point handler_start_;
  const Clock::duration write_timeout_;
  bool started_ = false;
  bool chunked_ = true;
  bool broken_ = false;
  int status_ = 0;
};

class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  ServerCore(asio::any_io_executor ex, Router router, ServerLimits limits, RequestObserver observer)
      : executor_(std::move(ex)),
        router_(std::move(router)),
        limits_(limits),
        observer_(std::move(observer)),
        acceptor_(asio::make_strand(executor_)) {}

  std::uint16_t Listen(const std::string& host, std::uint16_t port);
  void Stop();

 private:
  using ConnectionList = std::list<std::shared_ptr<Connection>>;

  static asio::awaitable<void> AcceptLoop(std::shared_ptr<ServerCore> self);
  static asio::awaitable<void> RunSession(std::shared_ptr<ServerCore> self, tcp::socket socket);
  static asio::awaitable<void> Reject(std::shared_ptr<ServerCore> self, tcp::socket socket);
  // Reads, routes, handles and answers one request; true to keep the connection.
  asio::awaitable<bool> ServeRequest(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                     ReadDeadline& deadline);
  // Answers with an error of the HTTP layer and closes (lingering when the request was
  // not read to its end).
  asio::awaitable<void> FailAndClose(beast::tcp_stream& stream, int status, std::string_view code,
                                     std::string_view message, unsigned version, bool linger,
                                     std::string_view method, Clock::time_point start);
  void Observe(std::string_view method, std::string_view route, int status,
               Clock::time_point start);

  const asio::any_io_executor executor_;
  const Router router_;
  const ServerLimits limits_;
  const RequestObserver observer_;
  tcp::acceptor acceptor_;  // on its own strand; only AcceptLoop and Stop's post touch it
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listening_{false};
  std::atomic<int> open_connections_{0};
  std::atomic<int> rejecting_{0};
  std::mutex mu_;
  ConnectionList connections_;  // guarded by mu_
};

std::uint16_t ServerCore::Listen(const std::string& host, std::uint16_t port) {
  if (stopping_) throw Error(ErrorCode::kUnavailable, "server is stopped");
  if (listening_.exchange(true)) throw Error(ErrorCode::kInternal, "Listen called twice");
  const std::string where = host + ":" + std::to_string(port);
  error_code ec;
  tcp::endpoint endpoint;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, port);
  } else {
    // A host name: resolved once, at startup, before any request is served.
    tcp::resolver resolver(executor_);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (!ec && results.empty()) ec = asio::error::host_not_found;
    if (!ec) endpoint = results.begin()->endpoint();
  }
  if (!ec) acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  std::uint16_t bound = 0;
  if (!ec) bound = acceptor_.local_endpoint(ec).port();
  if (ec) {
    error_code ignored;
    acceptor_.close(ignored);
    listening_ = false;
    throw Error(ErrorCode::kUnavailable, "cannot listen on " + where + ": " + ec.message());
  }
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(shared_from_this()), asio::detached);
  return bound;
}

void ServerCore::Stop() {
  if (stopping_.exchange(true)) return;
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    error_code ignored;
    self->acceptor_.close(ignored);
  });
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mu_);
    open.assign(connections_.begin(), connections_.end());
  }
  // Busy connections see stopping_ and close after their response; idle ones are
  // woken here. The check runs on the connection's strand, like the session itself.
  for (auto& conn : open) {
    asio::post(conn->strand, [conn] {
      if (conn->stream != nullptr && conn->idle) conn->stream->cancel();
    });
  }
}

asio::awaitable<void> ServerCore::AcceptLoop(std::shared_ptr<ServerCore> self) {
  asio::steady_timer backoff(self->acceptor_.get_executor());
  const int max_connections = std::max(1, self->limits_.max_connections);
  while (!self->stopping_) {
    asio::any_io_executor strand = asio::make_strand(self->executor_);
    auto [ec, socket] = co_await self->acceptor_.async_accept(strand, kAsTuple);
    if (self->stopping_) break;
    if (ec) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) break;
      // Typically out of file descriptors: wait instead of spinning.
      LogLine("accept failed: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(kAsTuple);
      continue;
    }
    if (self->open_connections_.load() >= max_connections) {
      if (self->rejecting_.load() < kMaxRejecting) {
        ++self->rejecting_;
        asio::co_spawn(strand, Reject(self, std::move(socket)), asio::detached);
      }
      continue;  // otherwise the socket closes here
    }
    ++self->open_connections_;
    asio::co_spawn(strand, RunSession(self, std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> ServerCore::Reject(std::shared_ptr<ServerCore> self, tcp::socket socket) {
  struct Slot {
    ServerCore* core;
    ~Slot() { --core->rejecting_; }
  } slot{self.get()};
  try {
    beast::tcp_stream stream(std::move(socket));
    obs::RequestStats stats;
    auto res =
        BuildResponse(ErrorResponse(503, "unavailable", "too many open connections; retry later"),
                      stats, std::chrono::nanoseconds(0), 11, false);
    stream.expires_after(kRejectTimeout);
    auto [ec, n] = co_await bhttp::async_write(stream, res, kAsTuple);
    if (!ec) co_await LingerClose(stream, kRejectTimeout);
  } catch (const std::exception& e) {
    LogLine(std::string("rejecting a connection failed: ") + e.what());
  }
}

asio::awaitable<void> ServerCore::RunSession(std::shared_ptr<ServerCore> self, tcp::socket socket) {
  struct Slot {
    ServerCore* core;
    ~Slot() { --core->open_connections_; }
  } slot{self.get()};
  try {
    // Responses and chunks go out as written; Nagle would hold small chunks back.
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    beast::tcp_stream stream(std::move(socket));
    auto conn = std::make_shared<Connection>();
    conn->strand = stream.get_executor();
    conn->stream = &stream;
    // Registered for Stop(); declared after `stream` so it is undone before the stream dies.
    struct Registration {
      ServerCore* core;
      ConnectionList::iterator it;
      ~Registration() {
        (*it)->stream = nullptr;
        std::lock_guard lock(core->mu_);
        core->connections_.erase(it);
      }
    };
    Registration registration{self.get(), {}};
    {
      std::lock_guard lock(self->mu_);
      registration.it = self->connections_.insert(self->connections_.end(), conn);
    }

    beast::flat_buffer buffer;
    ReadDeadline deadline(stream);
    for (;;) {
      if (self->stopping_) break;
      if (buffer.size() == 0) {
        // Idle: no byte of the next request yet.
        conn->idle = true;
        stream.expires_after(self->limits_.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk), kAsTuple);
        conn->idle = false;
        if (ec) break;  // client closed, idle timeout, or Stop()
        buffer.commit(n);
      }
      if (!co_await self->ServeRequest(stream, buffer, deadline)) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  } catch (const std::exception& e) {
    LogLine(std::string("connection failed: ") + e.what());
  }
}

void ServerCore::Observe(std::string_view method, std::string_view route, int status,
                         Clock::time_point start) {
  if (!observer_) return;
  try {
    observer_(method, route, status,
              std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start));
  } catch (const std::exception& e) {
    LogLine(std::string("request observer failed: ") + e.what());
  }
}

asio::awaitable<void> ServerCore::FailAndClose(beast::tcp_stream& stream, int status,
                                               std::string_view code, std::string_view message,
                                               unsigned version, bool linger,
                                               std::string_view method, Clock::time_point start) {
  obs::RequestStats stats;
  auto res = BuildResponse(ErrorResponse(status, code, message), stats, Clock::now() - start,
                           version, false);
  stream.expires_after(limits_.write_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream, res, kAsTuple);
  Observe(method, "unmatched", status, start);
  if (!ec && linger)
    co_await LingerClose(stream, std::min<Clock::duration>(kLingerTime, limits_.read_timeout));
}

asio::awaitable<bool> ServerCore::ServeRequest(beast::tcp_stream& stream,
                                               beast::flat_buffer& buffer, ReadDeadline& deadline) {
  const auto start = Clock::now();
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(limits_.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser.body_limit(static_cast<std::uint64_t>(limits_.max_body_bytes));

  // Read the whole request under one deadline that starts with its first byte.
  error_code ec;
  bool timed_out = false;
  {
    deadline.Arm(limits_.read_timeout);
    stream.expires_never();
    {
      auto [e, n] = co_await bhttp::async_read_header(stream, buffer, parser, kAsTuple);
      ec = e;
    }
    if (!ec && !parser.is_done() && ExpectsContinue(parser.get())) {
      bhttp::response<bhttp::empty_body> proceed{bhttp::status::continue_, 11};
      stream.expires_after(limits_.write_timeout);
      auto [e, n] = co_await bhttp::async_write(stream, proceed, kAsTuple);
      ec = e;
      stream.expires_never();
    }
    if (!ec && !parser.is_done()) {
      auto [e, n] = co_await bhttp::async_read(stream, buffer, parser, kAsTuple);
      ec = e;
    }
    timed_out = deadline.Disarm() && ec;
  }

  const bool header_done = parser.is_header_done();
  const std::string method =
      header_done ? std::string(parser.get().method_string()) : std::string("UNKNOWN");
  const unsigned version = header_done ? parser.get().version() : 11;
  if (ec) {
    if (timed_out) {
      co_await FailAndClose(stream, 408, "request_timeout", "request not received in time", version,
                            false, method, start);
    } else if (ec == bhttp::error::header_limit) {
      co_await FailAndClose(
          stream, 431, "header_too_large",
          "request line and headers exceed " + std::to_string(limits_.max_header_bytes) + " bytes",
          version, true, method, start);
    } else if (ec == bhttp::error::body_limit) {
      co_await FailAndClose(
          stream, 413, "payload_too_large",
          "request body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes", version,
          true, method, start);
    } else if (IsParseError(ec) && ec != bhttp::error::end_of_stream &&
               ec != bhttp::error::partial_message) {
      co_await FailAndClose(stream, 400, "bad_request", "malformed HTTP request: " + ec.message(),
                            version, true, method, start);
    }
    // Otherwise the client went away mid-request: nobody to answer.
    co_return false;
  }

  auto& req = parser.get();
  bool keep_alive = req.keep_alive();
  Request request;
  request.method = method;
  obs::RequestStats stats;
  Response response;
  std::string route = "unmatched";
  std::optional<SessionExchange> exchange;
  bool failed_after_start = false;
  Clock::time_point handler_start = Clock::now();

  if (!ParseTarget(req.target(), request)) {
    response = ErrorResponse(400, "bad_request", "malformed request target");
  } else {
    request.headers.reserve(std::distance(req.begin(), req.end()));
    for (const auto& field : req) {
      request.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(req.body());
    Match match = router_.Find(request.method, request.path);
    if (match.handler == nullptr) {
      if (match.path_known) {
        response =
            ErrorResponse(405, "method_not_allowed",
                          "method " + method + " is not allowed here; allowed: " + match.allow);
        response.headers.emplace_back("Allow", match.allow);
      } else {
        response = ErrorResponse(404, "not_found", "no route matches the path");
      }
    } else {
      route = match.pattern;
      request.path_params = std::move(match.params);
      handler_start = Clock::now();
      exchange.emplace(stream, request, stats, version, keep_alive && !stopping_, handler_start,
                       limits_.write_timeout);
      std::optional<Response> error;
      try {
        response = co_await (*match.handler)(*exchange);
      } catch (const Error& e) {
        error = ErrorFromException(e);
      } catch (const std::exception& e) {
        LogLine(method + " " + route + " failed: " + e.what());
        error = ErrorResponse(500, "internal", "internal error");
      } catch (...) {
        LogLine(method + " " + route + " failed with a non-standard exception");
        error = ErrorResponse(500, "internal", "internal error");
      }
      if (error) {
        if (exchange->started()) {
          failed_after_start = true;
        } else {
          response = std::move(*error);
        }
      }
    }
  }

  if (exchange && exchange->started()) {
    // Streamed: the status is already on the wire; end the body or drop the connection.
    // (No co_await inside && here: g++ 12 mis-evaluates short-circuits around co_await.)
    bool keep = false;
    if (!failed_after_start) {
      const bool finished = co_await exchange->Finish();
      keep = finished && exchange->keep_alive() && !stopping_;
    }
    Observe(method, route, exchange->status(), start);
    co_return keep;
  }

  keep_alive = keep_alive && !stopping_;
  const int status = IsValidStatus(response.status) ? response.status : 500;
  auto res =
      BuildResponse(std::move(response), stats, Clock::now() - handler_start, version, keep_alive);
  stream.expires_after(limits_.write_timeout);
  auto [write_ec, n] = co_await bhttp::async_write(stream, res, kAsTuple);
  Observe(method, route, status, start);
  co_return !write_ec && keep_alive;
}

}  // namespace

struct Server::Impl : ServerCore {
  using ServerCore::ServerCore;
};

Server::Server(boost::asio::any_io_executor ex, Router router, ServerLimits limits,
               RequestObserver observer)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(router), limits, std::move(observer))) {
}

Server::~Server() { impl_->Stop(); }

std::uint16_t Server::Listen(const std::string& host, std::uint16_t port) {
  return impl_->Listen(host, port);
}

void Server::Stop() { impl_->Stop(); }

}  // namespace mljobs::http

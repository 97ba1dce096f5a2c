#include "support/http_client.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <functional>
#include <limits>
#include <stdexcept>

namespace mljobs::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> FindHeader(const HeaderList& headers, std::string_view name) {
  const std::string lower = Lower(name);
  for (const auto& [k, v] : headers) {
    if (k == lower) return v;
  }
  return std::nullopt;
}

// A connection driven by a private io_context: each operation is started asynchronously
// and the context run until it completes, so beast::tcp_stream's timeouts bound it.
class Channel {
 public:
  Channel(std::uint16_t port, std::chrono::milliseconds timeout)
      : stream_(ioc_), timeout_(timeout), port_(port) {
    tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), port);
    stream_.expires_after(timeout_);
    auto [ec, n] = Run([&](auto handler) { stream_.async_connect(endpoint, std::move(handler)); });
    if (ec) Fail("connect", ec);
  }

  // Starts an operation with a completion handler and runs until it completed.
  template <class Start>
  std::pair<error_code, std::size_t> Run(Start&& start) {
    error_code result = asio::error::would_block;
    std::size_t bytes = 0;
    start([&result, &bytes](error_code ec, auto... rest) {
      result = ec;
      ((bytes = static_cast<std::size_t>(rest)), ...);
    });
    ioc_.restart();
    ioc_.run();
    return {result, bytes};
  }

  [[noreturn]] void Fail(std::string_view what, const error_code& ec) const {
    throw std::runtime_error("http client (port " + std::to_string(port_) +
                             "): " + std::string(what) + ": " + ec.message());
  }

  bhttp::request<bhttp::string_body> MakeRequest(std::string_view method, std::string_view target,
                                                 std::string_view body,
                                                 const HeaderList& headers) const {
    bhttp::request<bhttp::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port_));
    for (const auto& [name, value] : headers) req.insert(name, value);
    req.body() = std::string(body);
    req.prepare_payload();
    return req;
  }

  void Write(bhttp::request<bhttp::string_body>& req) {
    stream_.expires_after(timeout_);
    auto [ec, n] = Run([&](auto handler) { bhttp::async_write(stream_, req, std::move(handler)); });
    if (ec) Fail("write request", ec);
  }

  static void Configure(bhttp::response_parser<bhttp::string_body>& parser) {
    parser.header_limit(1024 * 1024);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  static HttpResult ToResult(const bhttp::response<bhttp::string_body>& res) {
    HttpResult result;
    result.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      result.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
    }
    result.body = res.body();
    return result;
  }

  HttpResult Exchange(std::string_view method, std::string_view target, std::string_view body,
                      const HeaderList& headers, bool close) {
    auto req = MakeRequest(method, target, body, headers);
    if (close) req.keep_alive(false);
    Write(req);
    bhttp::response_parser<bhttp::string_body> parser;
    Configure(parser);
    if (beast::iequals(method, "HEAD")) parser.skip(true);
    stream_.expires_after(timeout_);
    auto [ec, n] =
        Run([&](auto handler) { bhttp::async_read(stream_, buffer_, parser, std::move(handler)); });
    if (ec) Fail("read response", ec);
    return ToResult(parser.get());
  }

  beast::tcp_stream& stream() { return stream_; }
  beast::flat_buffer& buffer() { return buffer_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const std::chrono::milliseconds timeout_;
  const std::uint16_t port_;
};

}  // namespace

std::optional<std::string> HttpResult::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

HttpResult Send(std::uint16_t port, std::string_view method, std::string_view target,
                std::string_view body, const HeaderList& headers) {
  Channel channel(port, kDefaultClientTimeout);
  return channel.Exchange(method, target, body, headers, /*close=*/true);
}

struct HttpConnection::Impl {
  Channel channel;
};

HttpConnection::HttpConnection(std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(new Impl{Channel(port, timeout)}) {}

HttpConnection::~HttpConnection() = default;

HttpResult HttpConnection::Send(std::string_view method, std::string_view target,
                                std::string_view body, const HeaderList& headers) {
  return impl_->channel.Exchange(method, target, body, headers, /*close=*/false);
}

bool HttpConnection::WaitForClose(std::chrono::milliseconds timeout) {
  Channel& ch = impl_->channel;
  if (ch.buffer().size() > 0) return false;
  std::array<char, 1024> scratch;
  ch.stream().expires_after(timeout);
  auto [ec, n] = ch.Run([&](auto handler) {
    ch.stream().async_read_some(asio::buffer(scratch), std::move(handler));
  });
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

RawResult SendRaw(std::uint16_t port, std::string_view bytes, std::chrono::milliseconds timeout) {
  Channel ch(port, timeout);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ch.stream().expires_at(deadline);
  ch.Run([&](auto handler) {
    asio::async_write(ch.stream(), asio::buffer(bytes.data(), bytes.size()), std::move(handler));
  });
  RawResult result;
  std::array<char, 16 * 1024> scratch;
  for (;;) {
    ch.stream().expires_at(deadline);
    auto [ec, n] = ch.Run([&](auto handler) {
      ch.stream().async_read_some(asio::buffer(scratch), std::move(handler));
    });
    result.data.append(scratch.data(), n);
    if (ec) {
      result.closed = ec != beast::error::timeout;
      break;
    }
  }
  return result;
}

int RawStatus(std::string_view raw) {
  // "HTTP/1.1 404 Not Found"
  if (raw.size() < 12 || raw.substr(0, 5) != "HTTP/") return 0;
  auto space = raw.find(' ');
  if (space == std::string_view::npos || space + 4 > raw.size()) return 0;
  int status = 0;
  for (std::size_t i = space + 1; i < space + 4; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(raw[i]))) return 0;
    status = status * 10 + (raw[i] - '0');
  }
  return status;
}

std::string RawBody(std::string_view raw) {
  auto end = raw.find("\r\n\r\n");
  if (end == std::string_view::npos) return {};
  return std::string(raw.substr(end + 4));
}

struct StreamReader::Impl {
  Impl(std::uint16_t port, std::chrono::milliseconds timeout) : channel(port, timeout) {}

  Channel channel;
  std::string chunk;
  // Called by the parser with pieces of each chunk; stops the read at a chunk's end.
  std::function<std::size_t(std::uint64_t, beast::string_view, error_code&)> on_body =
      [this](std::uint64_t remain, beast::string_view body, error_code& ec) {
        chunk.append(body.data(), body.size());
        if (remain == body.size()) ec = bhttp::error::end_of_chunk;
        return body.size();
      };
  bhttp::response_parser<bhttp::string_body> parser;  // after on_body: it refers to it
  HeaderList headers;
  int status = 0;
  bool chunked = false;
  bool finished = false;
};

StreamReader::StreamReader(std::uint16_t port, std::string_view method, std::string_view target,
                           std::string_view body, const HeaderList& headers,
                           std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(port, timeout)) {
  Channel& ch = impl_->channel;
  auto req = ch.MakeRequest(method, target, body, headers);
  ch.Write(req);
  Channel::Configure(impl_->parser);
  impl_->parser.on_chunk_body(impl_->on_body);
  ch.stream().expires_after(ch.timeout());
  auto [ec, n] = ch.Run([&](auto handler) {
    bhttp::async_read_header(ch.stream(), ch.buffer(), impl_->parser, std::move(handler));
  });
  if (ec) ch.Fail("read response header", ec);
  const auto& res = impl_->parser.get();
  impl_->status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    impl_->headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
  }
  impl_->chunked = impl_->parser.chunked();
}

StreamReader::~StreamReader() = default;

int StreamReader::status() const { return impl_->status; }
const HeaderList& StreamReader::headers() const { return impl_->headers; }
std::optional<std::string> StreamReader::Header(std::string_view name) const {
  return FindHeader(impl_->headers, name);
}
bool StreamReader::chunked() const { return impl_->chunked; }

std::optional<std::string> StreamReader::NextChunk() {
  Impl& s = *impl_;
  Channel& ch = s.channel;
  if (s.finished) return std::nullopt;
  s.chunk.clear();
  while (!s.parser.is_done()) {
    ch.stream().expires_after(ch.timeout());
    auto [ec, n] = ch.Run([&](auto handler) {
      bhttp::async_read(ch.stream(), ch.buffer(), s.parser, std::move(handler));
    });
    if (ec == bhttp::error::end_of_chunk) return s.chunk;
    if (ec) ch.Fail("read response body", ec);
  }
  s.finished = true;
  if (!s.chunked) s.chunk = std::move(s.parser.get().body());
  if (s.chunk.empty()) return std::nullopt;
  return s.chunk;
}

std::string StreamReader::ReadToEnd() {
  std::string all;
  while (auto chunk = NextChunk()) all += *chunk;
  return all;
}

void StreamReader::Disconnect() {
  error_code ignored;
  impl_->channel.stream().socket().close(ignored);
  impl_->finished = true;
}

}  // namespace mljobs::testing

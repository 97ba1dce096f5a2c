#include "cli/worker_http.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <optional>

#include "common/error.hpp"

namespace mljobs::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct WorkerHttp::Impl {
  std::string host;
  std::string port;
  std::string token;
  std::chrono::seconds timeout;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;

  bool Connect() {
    stream.reset();
    boost::system::error_code ec;
    asio::ip::tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) return false;
    stream.emplace(io);
    stream->expires_after(timeout);
    stream->connect(endpoints, ec);
    if (ec) {
      stream.reset();
      return false;
    }
    return true;
  }

  // One exchange on the current connection; nullopt when the connection failed.
  std::optional<HttpAnswer> Exchange(const std::string& target, const std::string& body) {
    http::request<http::string_body> request{http::verb::post, target, 11};
    request.set(http::field::host, host);
    request.set(http::field::content_type, "application/json");
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    request.keep_alive(true);
    request.body() = body;
    request.prepare_payload();
    boost::system::error_code ec;
    stream->expires_after(timeout);
    http::write(*stream, request, ec);
    if (ec) return std::nullopt;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(*stream, buffer, parser, ec);
    if (ec) return std::nullopt;
    auto& response = parser.get();
    HttpAnswer answer;
    answer.status = static_cast<int>(response.result_int());
    answer.body = boost::json::parse(response.body(), ec);
    if (ec) answer.body = nullptr;
    if (!response.keep_alive()) stream.reset();
    return answer;
  }
};

WorkerHttp::WorkerHttp(const std::string& server, std::string token, std::chrono::seconds timeout)
    : impl_(std::make_unique<Impl>()) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest(server);
  if (rest.substr(0, kScheme.size()) != kScheme) {
    throw Error(ErrorCode::kInvalidArgument, "--server must be http://HOST:PORT (got '" + server + "')");
  }
  rest.remove_prefix(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
    throw Error(ErrorCode::kInvalidArgument, "--server must be http://HOST:PORT (got '" + server + "')");
  }
  impl_->host = std::string(rest.substr(0, colon));
  impl_->port = std::string(rest.substr(colon + 1));
  impl_->token = std::move(token);
  impl_->timeout = timeout;
}

WorkerHttp::~WorkerHttp() = default;

HttpAnswer WorkerHttp::Post(const std::string& target, const boost::json::value& body) {
  const std::string text = boost::json::serialize(body);
  // A kept-alive connection the server has since closed fails on first use: retry once on a
  // fresh one. Requests are safe to repeat: claims of a lost answer expire and are re-queued,
  // and lease calls are idempotent or answered 409.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!impl_->stream && !impl_->Connect()) return HttpAnswer{};
    if (auto answer = impl_->Exchange(target, text)) return std::move(*answer);
    impl_->stream.reset();
  }
  return HttpAnswer{};
}

}  // namespace mljobs::cli

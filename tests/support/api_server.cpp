#include "support/api_server.hpp"

#include <boost/json/parse.hpp>

namespace mljobs::testing {

ApiServer::ApiServer(const TestDatabase& database, cli::AppOptions options, Auth auth) {
  if (options.db_url.empty()) options.db_url = database.url();
  options.host = "127.0.0.1";
  options.port = 0;
  options.auth = auth == Auth::kOn;
  app_ = std::make_unique<cli::App>(std::move(options));
  port_ = app_->Start();
}

ApiServer::~ApiServer() { app_->Stop(); }

HttpResult ApiServer::Get(const std::string& target) const { return Send(port_, "GET", target); }

HttpResult ApiServer::Post(const std::string& target, const std::string& body) const {
  return Send(port_, "POST", target, body, {{"Content-Type", "application/json"}});
}

cli::AppOptions OptionsThroughProxy(const TestDatabase& database, const TcpProxy& proxy) {
  cli::AppOptions options;
  options.db_url = proxy.Proxied(database.url());
  options.store.acquire_timeout = std::chrono::milliseconds(1000);
  options.store.connect_timeout = std::chrono::milliseconds(1000);
  return options;
}

boost::json::value Json(const HttpResult& result) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(result.body, ec);
  if (ec) {
    ADD_FAILURE() << "response is not JSON: " << result.body.substr(0, 200);
    return nullptr;
  }
  return v;
}

std::string UrlEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace mljobs::testing

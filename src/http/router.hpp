// Maps (method, path pattern) to a handler. Patterns are literal segments and "{name}"
// captures; a literal segment beats a capture ("/jobs/export" over "/jobs/{id}").
// Unknown path -> 404, known path with another method -> 405.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/exchange.hpp"
#include "http/request.hpp"

namespace mljobs::http {

using Handler = std::function<boost::asio::awaitable<Response>(Exchange&)>;

struct Match {
  const Handler* handler = nullptr;  // null: no route
  std::string pattern;               // the route's pattern, for metrics labels
  std::vector<std::pair<std::string, std::string>> params;
  bool path_known = false;  // some route has this path under another method (405)
  std::string allow;        // methods allowed for the path, for the Allow header
};

class Router {
 public:
  // `pattern` like "/jobs/{id}/cancel". Adding the same method and pattern twice is a bug.
  void Add(std::string method, std::string pattern, Handler handler);
  Match Find(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace mljobs::http

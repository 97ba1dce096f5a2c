// Liveness and readiness probes: /healthz never touches the database, /readyz does.
#include "api/json_response.hpp"
#include "api/routes.hpp"

namespace mljobs::api {

void AddHealthRoutes(http::Router& router, jobs::JobService& service) {
  router.Add("GET", "/healthz", [](http::Exchange&) -> asio::awaitable<http::Response> {
    co_return JsonResponse(200, boost::json::object{{"status", "ok"}});
  });
  // Ping throws Error(kUnavailable) when the database is down, which the session maps to 503.
  router.Add("GET", "/readyz", [&service](http::Exchange& ex) -> asio::awaitable<http::Response> {
    co_await service.Ping(ex.stats());
    co_return JsonResponse(200, boost::json::object{{"status", "ready"}});
  });
}

}  // namespace mljobs::api

// GET /metrics: the Prometheus text exposition of requests, SQL statements and the
// connection pool. Admin only. Runs no SQL: job counts by status will come from the stats
// counters, never from a GROUP BY over ml_jobs.
#include "api/request_parsing.hpp"
#include "api/routes.hpp"
#include "obs/prometheus_text.hpp"
#include "obs/statement_registry.hpp"

namespace mljobs::api {
namespace {

void AppendPool(std::string& out, const jobs::PoolStats& pool) {
  auto gauge = [&out](std::string_view name, std::string_view help, double value) {
    obs::AppendHeader(out, name, "gauge", help);
    obs::AppendSample(out, name, {}, value);
  };
  auto counter = [&out](std::string_view name, std::string_view help, double value) {
    obs::AppendHeader(out, name, "counter", help);
    obs::AppendSample(out, name, {}, value);
  };
  gauge("mljobs_db_pool_size", "Database connections open.", pool.size);
  gauge("mljobs_db_pool_in_use", "Database connections leased.", pool.in_use);
  gauge("mljobs_db_pool_idle", "Database connections idle.", pool.idle);
  gauge("mljobs_db_pool_waiting", "Calls waiting for a database connection.", pool.waiting);
  counter("mljobs_db_pool_acquired_total", "Database connections handed out.",
          static_cast<double>(pool.acquired));
  counter("mljobs_db_pool_timed_out_total", "Waits for a connection that timed out.",
          static_cast<double>(pool.timed_out));
  counter("mljobs_db_pool_recycled_total", "Connections replaced for age.",
          static_cast<double>(pool.recycled));
}

}  // namespace

void AddMetricsRoutes(http::Router& router, jobs::AdminStore& admin,
                      const obs::RequestMetrics& requests, const Guard& guard) {
  router.Add("GET", "/metrics",
             guard.Require(Access::kAdmin,
                           [&admin, &requests](http::Exchange& ex, const jobs::Caller&)
                               -> asio::awaitable<http::Response> {
                             RequireKnownParams(ex.request(), {});
                             http::Response response;
                             response.content_type = "text/plain; version=0.0.4";
                             requests.AppendPrometheus(response.body);
                             obs::StatementRegistry::Global().AppendPrometheus(response.body);
                             AppendPool(response.body, admin.Pool());
                             co_return response;
                           }));
}

}  // namespace mljobs::api

// The operator's view: table and index health, the plans of the service's own named
// statements, and the slow statement ring. Admin only; nothing here takes SQL as input.
#include <boost/json/parse.hpp>

#include "api/json_response.hpp"
#include "api/request_parsing.hpp"
#include "api/routes.hpp"
#include "common/error.hpp"
#include "jobs/time_format.hpp"
#include "obs/statement_registry.hpp"

namespace mljobs::api {
namespace {

namespace json = boost::json;
using http::Exchange;
using http::Response;

json::value Optional(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::value OptionalTime(const std::optional<jobs::Micros>& v) {
  return v ? json::value(jobs::FormatRfc3339(*v)) : json::value(nullptr);
}

json::object PoolJson(const jobs::PoolStats& p) {
  return json::object{{"size", p.size},         {"in_use", p.in_use},
                      {"idle", p.idle},         {"waiting", p.waiting},
                      {"acquired", p.acquired}, {"timed_out", p.timed_out},
                      {"recycled", p.recycled}};
}

json::array SlowQueriesJson() {
  json::array out;
  for (const obs::SlowStatement& s : obs::StatementRegistry::Global().SlowStatements()) {
    const auto at = std::chrono::duration_cast<std::chrono::microseconds>(
        s.at.time_since_epoch());
    out.push_back(json::object{
        {"statement", s.name},
        {"at", jobs::FormatRfc3339(at.count())},
        {"ms", std::chrono::duration<double, std::milli>(s.elapsed).count()},
        {"rows", s.rows}});
  }
  return out;
}

asio::awaitable<Response> DbHealth(std::string backend, jobs::AdminStore& admin, Exchange& ex) {
  RequireKnownParams(ex.request(), {});
  jobs::DbHealth health = co_await admin.Health(ex.stats());
  const bool postgres = backend == "postgresql";
  json::array tables;
  for (const jobs::TableHealth& t : health.tables) {
    json::object o{{"name", t.name},
                   {"heap_bytes", t.heap_bytes},
                   {"index_bytes", t.index_bytes},
                   {"total_bytes", t.total_bytes},
                   {"row_estimate", Optional(t.row_estimate)}};
    if (postgres) {
      o["dead_tuples"] = Optional(t.dead_tuples);
      o["last_autovacuum"] = OptionalTime(t.last_autovacuum);
      o["last_autoanalyze"] = OptionalTime(t.last_autoanalyze);
    }
    tables.push_back(std::move(o));
  }
  json::array indexes;
  for (const jobs::IndexHealth& x : health.indexes) {
    indexes.push_back(json::object{{"name", x.name},
                                   {"table", x.table},
                                   {"size_bytes", x.size_bytes},
                                   {"scans", Optional(x.scans)},
                                   {"tuples_read", Optional(x.tuples_read)},
                                   {"unused", x.unused}});
  }
  json::object out{{"backend", backend},
                   {"tables", std::move(tables)},
                   {"indexes", std::move(indexes)},
                   {"cache_hit_ratio", health.cache_hit_ratio
                                           ? json::value(*health.cache_hit_ratio)
                                           : json::value(nullptr)},
                   {"pool", PoolJson(admin.Pool())},
                   {"slow_query_threshold_ms",
                    obs::StatementRegistry::Global().slow_threshold().count()},
                   {"slow_queries", SlowQueriesJson()}};
  if (!postgres) {
    out["file"] = json::object{{"page_size", Optional(health.page_size)},
                               {"page_count", Optional(health.page_count)},
                               {"freelist_pages", Optional(health.freelist_pages)},
                               {"wal_bytes", Optional(health.wal_bytes)}};
  }
  co_return JsonResponse(200, out);
}

asio::awaitable<Response> Explain(jobs::AdminStore& admin, Exchange& ex) {
  RequireKnownParams(ex.request(), {"query"});
  std::optional<std::string_view> name = ex.request().Query("query");
  if (!name) {
    throw Error(ErrorCode::kInvalidArgument,
                "query: is required (first_page, deep_page, pending, date_range, status_count, "
                "claim)");
  }
  std::optional<jobs::ExplainTarget> target = jobs::ParseExplainTarget(*name);
  if (!target) {
    throw Error(ErrorCode::kInvalidArgument,
                "query: must be one of first_page, deep_page, pending, date_range, "
                "status_count, claim (got '" + std::string(*name) + "')");
  }
  std::optional<jobs::ExplainResult> result = co_await admin.Explain(ex.stats(), *target);
  if (!result) {
    throw Error(ErrorCode::kNotFound,
                "query: '" + std::string(*name) + "' is not available on this build",
                "not_available");
  }
  json::value plan;
  if (result->plan_is_json) {
    plan = json::parse(result->plan);
  } else {
    json::array lines;
    std::string_view rest = result->plan;
    while (!rest.empty()) {
      std::size_t end = rest.find('\n');
      lines.emplace_back(rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    plan = std::move(lines);
  }
  json::array seq_scans;
  for (const std::string& table : result->seq_scans) seq_scans.emplace_back(table);
  json::object out{{"query", *name},
                   {"statement", result->statement},
                   {"sql", result->sql},
                   {"plan", std::move(plan)},
                   {"summary", json::object{{"uses_index", result->uses_index},
                                            {"seq_scans", std::move(seq_scans)},
                                            {"execution_ms", result->execution_ms}}}};
  co_return JsonResponse(200, out);
}

asio::awaitable<Response> SlowQueries(Exchange& ex) {
  RequireKnownParams(ex.request(), {});
  co_return JsonResponse(
      200, json::object{{"threshold_ms", obs::StatementRegistry::Global().slow_threshold().count()},
                        {"capacity", obs::StatementRegistry::kSlowRingSize},
                        {"slow_queries", SlowQueriesJson()}});
}

}  // namespace

void AddAdminRoutes(http::Router& router, std::string_view backend, jobs::AdminStore& admin,
                    const Guard& guard) {
  router.Add("GET", "/admin/db-health",
             guard.Require(Access::kAdmin, [backend = std::string(backend), &admin](
                                               Exchange& ex, const jobs::Caller&) {
               return DbHealth(backend, admin, ex);
             }));
  router.Add("GET", "/admin/explain",
             guard.Require(Access::kAdmin, [&admin](Exchange& ex, const jobs::Caller&) {
               return Explain(admin, ex);
             }));
  router.Add("GET", "/admin/slow-queries",
             guard.Require(Access::kAdmin,
                           [](Exchange& ex, const jobs::Caller&) { return SlowQueries(ex); }));
}

}  // namespace mljobs::api

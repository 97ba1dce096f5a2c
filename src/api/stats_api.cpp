// Job statistics: GET /jobs/stats (counters kept by triggers; one small read whatever the
// table size) and GET /jobs/stats/timeseries (per-hour counts for charts).
#include <charconv>

#include "api/json_response.hpp"
#include "api/request_parsing.hpp"
#include "api/routes.hpp"
#include "common/error.hpp"
#include "jobs/time_format.hpp"

namespace mljobs::api {
namespace {

namespace json = boost::json;

json::object StatusCounts(const std::array<std::int64_t, jobs::kStatusCount>& counts) {
  json::object out;
  for (int i = 0; i < jobs::kStatusCount; ++i) {
    out[jobs::ToString(static_cast<jobs::JobStatus>(i))] = counts[i];
  }
  return out;
}

json::value OptionalNumber(const std::optional<double>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

int ParseHours(const http::Request& request) {
  auto text = request.Query("hours");
  if (!text) return jobs::kDefaultTimeseriesHours;
  int hours = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), hours);
  if (ec != std::errc() || end != text->data() + text->size() || hours < 1 ||
      hours > jobs::kMaxTimeseriesHours) {
    throw Error(ErrorCode::kInvalidArgument, "hours: must be an integer from 1 to " +
                                                 std::to_string(jobs::kMaxTimeseriesHours) +
                                                 " (got '" + std::string(*text) + "')");
  }
  return hours;
}

asio::awaitable<http::Response> Stats(jobs::StatsService& service, http::Exchange& ex) {
  RequireKnownParams(ex.request(), {});
  jobs::JobStats stats = co_await service.Stats(ex.stats(), jobs::NowMicros());
  json::object by_model;
  for (const auto& [model, count] : stats.counters.live_by_model) by_model[model] = count;
  json::object run_time;
  run_time["completed"] = stats.timed_runs;
  run_time["avg_ms"] = OptionalNumber(stats.run_avg_ms);
  run_time["p50_ms"] = OptionalNumber(stats.run_p50_ms);
  run_time["p95_ms"] = OptionalNumber(stats.run_p95_ms);
  json::object archived;
  archived["total"] = stats.archived;
  archived["by_status"] = StatusCounts(stats.counters.archived_by_status);
  json::object out;
  out["by_status"] = StatusCounts(stats.counters.live_by_status);
  out["total"] = stats.total;
  out["created_last_24h"] = stats.created_last_24h;
  out["run_time"] = std::move(run_time);
  out["by_model"] = std::move(by_model);
  out["archived"] = std::move(archived);
  co_return JsonResponse(200, out);
}

asio::awaitable<http::Response> Timeseries(jobs::StatsService& service, http::Exchange& ex) {
  RequireKnownParams(ex.request(), {"hours"});
  int hours = ParseHours(ex.request());
  std::vector<jobs::HourCounts> series =
      co_await service.Timeseries(ex.stats(), jobs::NowMicros(), hours);
  json::array list;
  list.reserve(series.size());
  for (const jobs::HourCounts& h : series) {
    list.push_back(json::object{{"hour", jobs::FormatRfc3339(h.hour)},
                                {"created", h.created},
                                {"completed", h.completed},
                                {"failed", h.failed}});
  }
  json::object out;
  out["hours"] = hours;
  out["series"] = std::move(list);
  co_return JsonResponse(200, out);
}

}  // namespace

void AddStatsRoutes(http::Router& router, jobs::StatsService& service, const Guard& guard) {
  router.Add("GET", "/jobs/stats",
             guard.Require(Access::kAnyRole, [&service](http::Exchange& ex, const jobs::Caller&) {
               return Stats(service, ex);
             }));
  router.Add("GET", "/jobs/stats/timeseries",
             guard.Require(Access::kAnyRole, [&service](http::Exchange& ex, const jobs::Caller&) {
               return Timeseries(service, ex);
             }));
}

}  // namespace mljobs::api

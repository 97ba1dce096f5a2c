// Archival and retention: POST /admin/archive-jobs and POST /admin/purge-archive. Both
// run to completion in batches before answering (each batch atomic; see ArchiveService).
#include <charconv>

#include "api/json_response.hpp"
#include "api/request_parsing.hpp"
#include "api/routes.hpp"
#include "common/error.hpp"
#include "jobs/time_format.hpp"

namespace mljobs::api {
namespace {

namespace json = boost::json;

int IntParam(const http::Request& request, std::string_view name, int fallback, int lo, int hi) {
  auto text = request.Query(name);
  if (!text) return fallback;
  int value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < lo || value > hi) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(name) + ": must be an integer from " + std::to_string(lo) + " to " +
                    std::to_string(hi) + " (got '" + std::string(*text) + "')");
  }
  return value;
}

asio::awaitable<http::Response> Archive(jobs::ArchiveService& service, http::Exchange& ex) {
  RequireKnownParams(ex.request(), {"days_old", "batch_size"});
  int days_old = IntParam(ex.request(), "days_old", 30, jobs::kMinDaysOld, jobs::kMaxDaysOld);
  int batch = IntParam(ex.request(), "batch_size", jobs::kDefaultArchiveBatch, 1,
                       jobs::kMaxArchiveBatch);
  jobs::ArchiveResult result =
      co_await service.Archive(ex.stats(), days_old, batch, jobs::NowMicros());
  json::object out;
  out["archived"] = result.archived;
  out["batches"] = result.batches;
  out["elapsed_ms"] = result.elapsed_ms;
  out["cutoff"] = jobs::FormatRfc3339(result.cutoff);
  co_return JsonResponse(200, out);
}

asio::awaitable<http::Response> Purge(jobs::ArchiveService& service, http::Exchange& ex) {
  RequireKnownParams(ex.request(), {"days_old", "batch_size"});
  int days_old = IntParam(ex.request(), "days_old", jobs::kDefaultPurgeDaysOld,
                          jobs::kMinDaysOld, jobs::kMaxDaysOld);
  int batch = IntParam(ex.request(), "batch_size", jobs::kDefaultArchiveBatch, 1,
                       jobs::kMaxArchiveBatch);
  jobs::PurgeResult result = co_await service.Purge(ex.stats(), days_old, batch, jobs::NowMicros());
  json::array dropped;
  for (const auto& name : result.partitions_dropped) dropped.emplace_back(name);
  json::object out;
  out["purged"] = result.purged;
  out["partitions_dropped"] = std::move(dropped);
  out["batches"] = result.batches;
  out["elapsed_ms"] = result.elapsed_ms;
  out["cutoff"] = jobs::FormatRfc3339(result.cutoff);
  co_return JsonResponse(200, out);
}

}  // namespace

void AddArchiveRoutes(http::Router& router, jobs::ArchiveService& service, const Guard& guard) {
  router.Add("POST", "/admin/archive-jobs",
             guard.Require(Access::kAdmin, [&service](http::Exchange& ex, const jobs::Caller&) {
               return Archive(service, ex);
             }));
  router.Add("POST", "/admin/purge-archive",
             guard.Require(Access::kAdmin, [&service](http::Exchange& ex, const jobs::Caller&) {
               return Purge(service, ex);
             }));
}

}  // namespace mljobs::api

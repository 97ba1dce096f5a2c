// The job resource: submit, batch submit, get, cancel, keyset list and NDJSON export.
#include <boost/json/serialize.hpp>

#include "api/auth.hpp"
#include "api/job_json.hpp"
#include "api/json_response.hpp"
#include "api/request_parsing.hpp"
#include "api/routes.hpp"

namespace mljobs::api {
namespace {

namespace json = boost::json;
using http::Exchange;
using http::Response;

// A job belongs to the caller that submitted it (an admin's jobs to the admin token's name).
asio::awaitable<Response> Submit(jobs::JobService& service, Exchange& ex,
                                 const jobs::Caller& caller) {
  json::object body = ParseJsonObject(ex.request().body);
  jobs::Job job = co_await service.Submit(ex.stats(), caller.name, ParseJobRequest(body, ""));
  co_return JsonResponse(201, JobToJson(job, jobs::FieldSet::All()));
}

asio::awaitable<Response> SubmitBatch(jobs::JobService& service, Exchange& ex,
                                      const jobs::Caller& caller) {
  auto requests = ParseBatchRequest(ParseJsonObject(ex.request().body));
  auto ids = co_await service.SubmitBatch(ex.stats(), caller.name, std::move(requests));
  json::array id_list;
  id_list.reserve(ids.size());
  for (auto& id : ids) id_list.emplace_back(std::move(id));
  json::object out;
  out["count"] = id_list.size();
  out["ids"] = std::move(id_list);
  co_return JsonResponse(201, out);
}

// Another user's job is a 404, exactly like a job that does not exist.
asio::awaitable<Response> Get(jobs::JobService& service, Exchange& ex, const jobs::Caller& caller) {
  RequireKnownParams(ex.request(), {});
  jobs::Job job =
      co_await service.Get(ex.stats(), ex.request().PathParam("id"), OwnerScope(caller));
  co_return JsonResponse(200, JobToJson(job, jobs::FieldSet::All()));
}

asio::awaitable<Response> Cancel(jobs::JobService& service, Exchange& ex,
                                 const jobs::Caller& caller) {
  RequireKnownParams(ex.request(), {});
  jobs::Job job =
      co_await service.Cancel(ex.stats(), ex.request().PathParam("id"), OwnerScope(caller));
  co_return JsonResponse(200, JobToJson(job, jobs::FieldSet::All()));
}

asio::awaitable<Response> List(jobs::JobService& service, Exchange& ex,
                               const jobs::Caller& caller) {
  jobs::ListRequest request = ParseListRequest(ex.request());
  request.filter.owner = OwnerScope(caller);
  jobs::ListResult result = co_await service.List(ex.stats(), request);
  json::array list;
  list.reserve(result.page.jobs.size());
  for (const auto& job : result.page.jobs) list.emplace_back(JobToJson(job, request.fields));
  json::object out;
  out["jobs"] = std::move(list);
  out["next_cursor"] = result.next_cursor ? json::value(*result.next_cursor) : json::value(nullptr);
  out["has_more"] = result.page.has_more;
  if (result.count) {
    out["total"] = result.count->total;
    out["total_is_estimate"] = result.count->is_estimate;
  }
  co_return JsonResponse(200, out);
}

// Streams one JSON line per job. Memory holds one chunk of rows and its text; a slow
// client slows the database reads, never grows a buffer.
asio::awaitable<Response> Export(jobs::JobService& service, Exchange& ex,
                                 const jobs::Caller& caller) {
  ExportRequest request = ParseExportRequest(ex.request());
  request.filter.owner = OwnerScope(caller);
  bool started = false;
  std::string buffer;
  co_await service.Export(
      ex.stats(), request.filter, request.order, request.fields,
      [&](std::span<const jobs::Job> chunk) -> asio::awaitable<bool> {
        if (!started) {
          co_await ex.StartStream(200, "application/x-ndjson");
          started = true;
        }
        buffer.clear();
        for (const auto& job : chunk) {
          buffer += json::serialize(JobToJson(job, request.fields));
          buffer += '\n';
        }
        co_return co_await ex.WriteChunk(buffer);
      });
  if (!started) co_await ex.StartStream(200, "application/x-ndjson");  // no rows: empty body
  co_return Response{};
}

}  // namespace

void AddJobRoutes(http::Router& router, jobs::JobService& service, const Guard& guard) {
  auto bind = [&service, &guard](auto fn) {
    return guard.Require(Access::kUser, [&service, fn](Exchange& ex, const jobs::Caller& caller) {
      return fn(service, ex, caller);
    });
  };
  router.Add("POST", "/jobs", bind(Submit));
  router.Add("POST", "/jobs/batch", bind(SubmitBatch));
  router.Add("GET", "/jobs", bind(List));
  router.Add("GET", "/jobs/export", bind(Export));
  router.Add("GET", "/jobs/{id}", bind(Get));
  router.Add("POST", "/jobs/{id}/cancel", bind(Cancel));
}

}  // namespace mljobs::api

// The job resource: submit, batch submit, get, cancel, keyset list and NDJSON export.
#include <boost/json/object.hpp>

#include "api/auth.hpp"
#include "api/job_json.hpp"
#include "api/json_response.hpp"
#include "api/json_writer.hpp"
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
  co_return JobResponse(201, job);
}

asio::awaitable<Response> SubmitBatch(jobs::JobService& service, Exchange& ex,
                                      const jobs::Caller& caller) {
  auto requests = ParseBatchRequest(ParseJsonObject(ex.request().body));
  auto ids = co_await service.SubmitBatch(ex.stats(), caller.name, std::move(requests));
  std::string out;
  out.reserve(32 + ids.size() * 40);  // a uuid is 36 characters
  out.append("{\"count\":");
  AppendJsonInt(out, static_cast<std::int64_t>(ids.size()));
  out.append(",\"ids\":");
  AppendJsonArray(out, ids, AppendJsonString);
  out.push_back('}');
  co_return JsonTextResponse(201, std::move(out));
}

// Another user's job is a 404, exactly like a job that does not exist.
asio::awaitable<Response> Get(jobs::JobService& service, Exchange& ex, const jobs::Caller& caller) {
  RequireKnownParams(ex.request(), {});
  jobs::Job job =
      co_await service.Get(ex.stats(), ex.request().PathParam("id"), OwnerScope(caller));
  co_return JobResponse(200, job);
}

asio::awaitable<Response> Cancel(jobs::JobService& service, Exchange& ex,
                                 const jobs::Caller& caller) {
  RequireKnownParams(ex.request(), {});
  jobs::Job job =
      co_await service.Cancel(ex.stats(), ex.request().PathParam("id"), OwnerScope(caller));
  co_return JobResponse(200, job);
}

// {"jobs":[...],"next_cursor":...,"has_more":...[,"total":...,"total_is_estimate":...]}
std::string ListBody(const jobs::ListResult& result, jobs::FieldSet fields) {
  std::size_t bytes = 128;
  for (const auto& job : result.page.jobs) bytes += JobJsonBytes(job);
  std::string out;
  out.reserve(bytes);
  out.append("{\"jobs\":");
  AppendJsonArray(out, result.page.jobs,
                  [fields](std::string& o, const jobs::Job& job) { AppendJobJson(o, job, fields); });
  out.append(",\"next_cursor\":");
  AppendJsonNullable(out, result.next_cursor, AppendJsonString);
  out.append(result.page.has_more ? ",\"has_more\":true" : ",\"has_more\":false");
  if (result.count) {
    out.append(",\"total\":");
    AppendJsonInt(out, result.count->total);
    out.append(result.count->is_estimate ? ",\"total_is_estimate\":true}"
                                         : ",\"total_is_estimate\":false}");
  } else {
    out.push_back('}');
  }
  return out;
}

asio::awaitable<Response> List(jobs::JobService& service, Exchange& ex,
                               const jobs::Caller& caller) {
  jobs::ListRequest request = ParseListRequest(ex.request());
  request.filter.owner = OwnerScope(caller);
  jobs::ListResult result = co_await service.List(ex.stats(), request);
  co_return JsonTextResponse(200, ListBody(result, request.fields));
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
          AppendJobJson(buffer, job, request.fields);
          buffer.push_back('\n');
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

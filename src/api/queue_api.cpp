// The work queue resource: claim (with long poll), heartbeat, complete, fail, and batched
// completion. Bodies are parsed strictly: unknown fields and wrong types are a 400 naming
// the field, before anything changes.
#include <boost/json/object.hpp>

#include "api/job_json.hpp"
#include "api/json_fields.hpp"
#include "api/json_response.hpp"
#include "api/json_writer.hpp"
#include "api/request_parsing.hpp"
#include "api/routes.hpp"
#include "common/error.hpp"

namespace mljobs::api {
namespace {

namespace json = boost::json;
using http::Exchange;
using http::Response;

jobs::CompleteParams ParseCompletion(const json::object& o, const std::string& where) {
  jobs::CompleteParams p;
  p.lease_token = RequireString(o, "lease_token", where);
  p.label = RequireString(o, "result_label", where);
  p.score = RequireNumber(o, "result_score", where);
  return p;
}

asio::awaitable<Response> Claim(jobs::QueueService& queue, Exchange& ex) {
  RequireKnownParams(ex.request(), {});
  json::object body = ParseJsonObject(ex.request().body);
  RequireKnownFields(body, {"worker", "limit", "lease_seconds", "models", "wait_seconds"}, "");
  jobs::ClaimParams p;
  p.worker = RequireString(body, "worker", "");
  p.limit = OptionalInt(body, "limit", 1, "");
  p.lease_seconds = OptionalInt(body, "lease_seconds", jobs::kDefaultLeaseSeconds, "");
  p.wait_seconds = OptionalInt(body, "wait_seconds", 0, "");
  if (const json::value* models = body.if_contains("models")) {
    if (!models->is_array())
      ThrowInvalid("models: must be an array, not " + std::string(KindName(*models)));
    const json::array& list = models->get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string()) {
        ThrowInvalid("models[" + std::to_string(i) + "]: must be a string, not " +
                     KindName(list[i]));
      }
      p.models.emplace_back(list[i].get_string());
    }
  }
  std::vector<jobs::Job> claimed = co_await queue.Claim(ex.stats(), std::move(p));
  // Each claimed job carries the lease the worker must present.
  std::size_t bytes = 16;
  for (const jobs::Job& job : claimed) bytes += JobJsonBytes(job);
  std::string out;
  out.reserve(bytes);
  out.append("{\"jobs\":");
  AppendJsonArray(out, claimed, AppendClaimedJobJson);
  out.push_back('}');
  co_return JsonTextResponse(200, std::move(out));
}

asio::awaitable<Response> Heartbeat(jobs::QueueService& queue, Exchange& ex) {
  RequireKnownParams(ex.request(), {});
  json::object body = ParseJsonObject(ex.request().body);
  RequireKnownFields(body, {"lease_token", "lease_seconds"}, "");
  std::string token = RequireString(body, "lease_token", "");
  int lease = OptionalInt(body, "lease_seconds", jobs::kDefaultLeaseSeconds, "");
  jobs::Job job =
      co_await queue.Heartbeat(ex.stats(), ex.request().PathParam("id"), std::move(token), lease);
  co_return JobResponse(200, job);
}

asio::awaitable<Response> Complete(jobs::QueueService& queue, Exchange& ex) {
  RequireKnownParams(ex.request(), {});
  json::object body = ParseJsonObject(ex.request().body);
  RequireKnownFields(body, {"lease_token", "result_label", "result_score"}, "");
  jobs::CompleteParams p = ParseCompletion(body, "");
  p.id = std::string(ex.request().PathParam("id"));
  jobs::Job job = co_await queue.Complete(ex.stats(), std::move(p));
  co_return JobResponse(200, job);
}

asio::awaitable<Response> Fail(jobs::QueueService& queue, Exchange& ex) {
  RequireKnownParams(ex.request(), {});
  json::object body = ParseJsonObject(ex.request().body);
  RequireKnownFields(body, {"lease_token", "error", "retry"}, "");
  jobs::FailParams p;
  p.lease_token = RequireString(body, "lease_token", "");
  p.error = RequireString(body, "error", "");
  if (const json::value* retry = body.if_contains("retry")) {
    if (!retry->is_bool())
      ThrowInvalid("retry: must be a boolean, not " + std::string(KindName(*retry)));
    p.retry = retry->get_bool();
  }
  jobs::Job job = co_await queue.Fail(ex.stats(), ex.request().PathParam("id"), std::move(p));
  co_return JobResponse(200, job);
}

std::string_view OutcomeCode(jobs::LeaseOutcome outcome) {
  switch (outcome) {
    case jobs::LeaseOutcome::kOk:
      return "completed";
    case jobs::LeaseOutcome::kRepeated:
      return "completed";
    case jobs::LeaseOutcome::kNotFound:
      return "not_found";
    case jobs::LeaseOutcome::kLeaseLost:
      return "lease_lost";
    case jobs::LeaseOutcome::kCancelled:
      return "cancelled";
  }
  return "lease_lost";
}

// Answers 200 with one entry per result: a batch is never all-or-nothing, since each job's
// lease is its own (one lost lease must not undo a thousand good completions).
asio::awaitable<Response> CompleteBatch(jobs::QueueService& queue, Exchange& ex) {
  RequireKnownParams(ex.request(), {});
  json::object body = ParseJsonObject(ex.request().body);
  RequireKnownFields(body, {"results"}, "");
  const json::value* results = body.if_contains("results");
  if (results == nullptr) ThrowInvalid("results: is required");
  if (!results->is_array())
    ThrowInvalid("results: must be an array, not " + std::string(KindName(*results)));
  const json::array& list = results->get_array();
  if (list.size() > jobs::kMaxCompleteBatch) ThrowInvalid("results: may hold at most 1000 results");
  std::vector<jobs::CompleteParams> batch;
  batch.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = "results[" + std::to_string(i) + "].";
    const json::object& o = RequireObject(list[i], "results[" + std::to_string(i) + "]");
    RequireKnownFields(o, {"id", "lease_token", "result_label", "result_score"}, where);
    jobs::CompleteParams p = ParseCompletion(o, where);
    p.id = RequireString(o, "id", where);
    batch.push_back(std::move(p));
  }
  std::vector<std::string> ids;
  ids.reserve(batch.size());
  for (const auto& p : batch) ids.push_back(p.id);
  std::vector<jobs::LeaseOutcome> outcomes =
      co_await queue.CompleteBatch(ex.stats(), std::move(batch));
  json::array out;
  out.reserve(outcomes.size());
  std::size_t completed = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const bool ok =
        outcomes[i] == jobs::LeaseOutcome::kOk || outcomes[i] == jobs::LeaseOutcome::kRepeated;
    completed += ok ? 1 : 0;
    out.push_back(json::object{{"id", ids[i]}, {"status", OutcomeCode(outcomes[i])}});
  }
  co_return JsonResponse(200, json::object{{"completed", completed},
                                           {"failed", outcomes.size() - completed},
                                           {"results", std::move(out)}});
}

}  // namespace

void AddQueueRoutes(http::Router& router, jobs::QueueService& queue, const Guard& guard) {
  auto bind = [&queue, &guard](auto fn) {
    return guard.Require(Access::kWorker,
                         [&queue, fn](Exchange& ex, const jobs::Caller&) { return fn(queue, ex); });
  };
  router.Add("POST", "/queue/claim", bind(Claim));
  router.Add("POST", "/queue/complete", bind(CompleteBatch));
  router.Add("POST", "/jobs/{id}/heartbeat", bind(Heartbeat));
  router.Add("POST", "/jobs/{id}/complete", bind(Complete));
  router.Add("POST", "/jobs/{id}/fail", bind(Fail));
}

}  // namespace mljobs::api

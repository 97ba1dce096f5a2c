// GET /metrics: the Prometheus text exposition of requests, SQL statements, the connection
// pool, jobs by status and the work queue. Admin only. One statement: the jobs come from
// the stats counters (StatsService), never from a GROUP BY over ml_jobs.
#include "api/request_parsing.hpp"
#include "api/routes.hpp"
#include "jobs/time_format.hpp"
#include "obs/prometheus_text.hpp"
#include "obs/statement_registry.hpp"

namespace mljobs::api {
namespace {

// One metric of one sample, without labels.
void AppendSingle(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help, double value) {
  obs::AppendHeader(out, name, type, help);
  obs::AppendSample(out, name, {}, value);
}

void AppendPool(std::string& out, const jobs::PoolStats& pool) {
  auto gauge = [&out](std::string_view name, std::string_view help, double value) {
    AppendSingle(out, name, "gauge", help, value);
  };
  auto counter = [&out](std::string_view name, std::string_view help, double value) {
    AppendSingle(out, name, "counter", help, value);
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

void AppendJobs(std::string& out, const jobs::CounterSnapshot& counters) {
  obs::AppendHeader(out, "mljobs_jobs", "gauge", "Jobs in ml_jobs by status.");
  for (std::size_t i = 0; i < counters.live_by_status.size(); ++i) {
    obs::AppendSample(out, "mljobs_jobs",
                      {{"status", jobs::ToString(static_cast<jobs::JobStatus>(i))}},
                      static_cast<double>(counters.live_by_status[i]));
  }
  obs::AppendHeader(out, "mljobs_jobs_archived", "gauge", "Jobs in ml_jobs_archive by status.");
  for (std::size_t i = 0; i < counters.archived_by_status.size(); ++i) {
    obs::AppendSample(out, "mljobs_jobs_archived",
                      {{"status", jobs::ToString(static_cast<jobs::JobStatus>(i))}},
                      static_cast<double>(counters.archived_by_status[i]));
  }
}

void AppendQueue(std::string& out, const jobs::QueueService& queue) {
  const jobs::GroupCommitStats claims = queue.Claims();
  const jobs::GroupCommitStats c = queue.Completions();
  auto sample = [&out](std::string_view name, std::string_view type, std::string_view help,
                       double value) { AppendSingle(out, name, type, help, value); };
  sample("mljobs_queue_claims_waiting", "gauge", "Claims long-polling for work.",
         static_cast<double>(queue.WaitingClaims()));
  sample("mljobs_queue_claims_queued", "gauge", "Claims queued for the next grouped write.",
         static_cast<double>(claims.waiting));
  sample("mljobs_queue_claims_writing", "gauge", "Claims in the grouped write under way.",
         static_cast<double>(claims.writing));
  sample("mljobs_queue_claim_writes_total", "counter", "Grouped writes of claims.",
         static_cast<double>(claims.writes));
  sample("mljobs_queue_claims_written_total", "counter", "Claims those writes carried.",
         static_cast<double>(claims.written));
  sample("mljobs_queue_completions_waiting", "gauge",
         "Completions queued for the next grouped write.", static_cast<double>(c.waiting));
  sample("mljobs_queue_completions_writing", "gauge", "Completions in the grouped write under way.",
         static_cast<double>(c.writing));
  sample("mljobs_queue_completion_writes_total", "counter", "Grouped writes of completions.",
         static_cast<double>(c.writes));
  sample("mljobs_queue_completions_written_total", "counter",
         "Completions those writes carried (single and from batches).",
         static_cast<double>(c.written));
}

}  // namespace

void AddMetricsRoutes(http::Router& router, jobs::AdminStore& admin, jobs::StatsService& stats,
                      const jobs::QueueService& queue, const obs::RequestMetrics& requests,
                      const Guard& guard) {
  router.Add("GET", "/metrics",
             guard.Require(
                 Access::kAdmin,
                 [&admin, &stats, &queue, &requests](
                     http::Exchange& ex, const jobs::Caller&) -> asio::awaitable<http::Response> {
                   RequireKnownParams(ex.request(), {});
                   jobs::JobStats job_stats = co_await stats.Stats(ex.stats(), jobs::NowMicros());
                   http::Response response;
                   response.content_type = "text/plain; version=0.0.4";
                   requests.AppendPrometheus(response.body);
                   obs::StatementRegistry::Global().AppendPrometheus(response.body);
                   AppendPool(response.body, admin.Pool());
                   AppendJobs(response.body, job_stats.counters);
                   AppendQueue(response.body, queue);
                   co_return response;
                 }));
}

}  // namespace mljobs::api

// Registers the HTTP routes of each resource on a router. One function per resource file
// (jobs_api.cpp, health_api.cpp); handlers hold no SQL and call the service only.
#pragma once

#include <string_view>

#include "api/auth.hpp"
#include "http/router.hpp"
#include "jobs/admin_store.hpp"
#include "jobs/job_service.hpp"
#include "jobs/queue_service.hpp"
#include "jobs/stats_service.hpp"
#include "jobs/archive_service.hpp"
#include "obs/request_metrics.hpp"

namespace mljobs::api {

namespace asio = boost::asio;

// POST /jobs, POST /jobs/batch, GET /jobs, GET /jobs/export, GET /jobs/{id},
// POST /jobs/{id}/cancel. Role user or admin; a user sees only its own jobs.
void AddJobRoutes(http::Router& router, jobs::JobService& service, const Guard& guard);

// POST /queue/claim, POST /queue/complete, POST /jobs/{id}/heartbeat, /complete, /fail.
// Role worker or admin.
void AddQueueRoutes(http::Router& router, jobs::QueueService& queue, const Guard& guard);

// GET /healthz (process alive), GET /readyz (database reachable, else 503).
void AddHealthRoutes(http::Router& router, jobs::JobService& service);

// GET /admin/db-health, GET /admin/explain?query=..., GET /admin/slow-queries. Admin only.
void AddAdminRoutes(http::Router& router, std::string_view backend, jobs::AdminStore& admin,
                    const Guard& guard);

// GET /metrics: Prometheus text (requests, statements, pool, jobs by status from the stats
// counters, the work queue's waiting claims and grouped completions). Admin only.
void AddMetricsRoutes(http::Router& router, jobs::AdminStore& admin, jobs::StatsService& stats,
                      const jobs::QueueService& queue, const obs::RequestMetrics& requests,
                      const Guard& guard);

// GET /jobs/stats, GET /jobs/stats/timeseries?hours=N (1..720, default 48). Any role.
void AddStatsRoutes(http::Router& router, jobs::StatsService& service, const Guard& guard);

// POST /admin/archive-jobs?days_old=&batch_size=, POST /admin/purge-archive?days_old=&batch_size=.
// Admin only.
void AddArchiveRoutes(http::Router& router, jobs::ArchiveService& service, const Guard& guard);

}  // namespace mljobs::api

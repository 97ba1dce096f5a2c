// Registers the HTTP routes of each resource on a router. One function per resource file
// (jobs_api.cpp, health_api.cpp); handlers hold no SQL and call the service only.
#pragma once

#include "http/router.hpp"
#include "jobs/job_service.hpp"
#include "jobs/stats_service.hpp"
#include "jobs/archive_service.hpp"
#include "jobs/queue_service.hpp"

namespace mljobs::api {

namespace asio = boost::asio;

// POST /jobs, POST /jobs/batch, GET /jobs, GET /jobs/export, GET /jobs/{id},
// POST /jobs/{id}/cancel.
void AddJobRoutes(http::Router& router, jobs::JobService& service);

// POST /queue/claim, POST /queue/complete, POST /jobs/{id}/heartbeat, /complete, /fail.
// Registered without roles; auth wraps them (worker or admin) when it lands.
void AddQueueRoutes(http::Router& router, jobs::QueueService& queue);

// GET /healthz (process alive), GET /readyz (database reachable, else 503).
void AddHealthRoutes(http::Router& router, jobs::JobService& service);

// GET /jobs/stats, GET /jobs/stats/timeseries?hours=N (1..720, default 48).
void AddStatsRoutes(http::Router& router, jobs::StatsService& service);

// POST /admin/archive-jobs?days_old=&batch_size=, POST /admin/purge-archive?days_old=&batch_size=.
void AddArchiveRoutes(http::Router& router, jobs::ArchiveService& service);

}  // namespace mljobs::api

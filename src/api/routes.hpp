// Registers the HTTP routes of each resource on a router. One function per resource file
// (jobs_api.cpp, health_api.cpp); handlers hold no SQL and call the service only.
#pragma once

#include "http/router.hpp"
#include "jobs/job_service.hpp"

namespace mljobs::api {

namespace asio = boost::asio;

// POST /jobs, POST /jobs/batch, GET /jobs, GET /jobs/export, GET /jobs/{id},
// POST /jobs/{id}/cancel.
void AddJobRoutes(http::Router& router, jobs::JobService& service);

// GET /healthz (process alive), GET /readyz (database reachable, else 503).
void AddHealthRoutes(http::Router& router, jobs::JobService& service);

}  // namespace mljobs::api

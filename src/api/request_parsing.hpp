// Turns HTTP input into typed service requests, rejecting anything off with
// Error(kInvalidArgument) that names the parameter: JSON bodies of jobs, and the query
// parameters of the list and export endpoints. Pure functions, unit-tested.
#pragma once

#include <boost/json/value.hpp>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "http/request.hpp"
#include "jobs/job_service.hpp"

namespace mljobs::api {

// The request body as a JSON object; 400 when it is not one.
boost::json::object ParseJsonObject(const std::string& body);

// One job object of POST /jobs or of the batch array. `where` prefixes error messages
// ("jobs[3].").
jobs::JobRequest ParseJobRequest(const boost::json::value& value, const std::string& where);

// The jobs of POST /jobs/batch: `{"jobs":[...]}` with 1..10,000 entries.
std::vector<jobs::JobRequest> ParseBatchRequest(const boost::json::object& body);

// Query parameters of GET /jobs (and, without cursor/limit/count, of the export).
jobs::ListRequest ParseListRequest(const http::Request& request);

// The filter, order and fields of GET /jobs/export.
struct ExportRequest {
  jobs::JobFilter filter;
  jobs::SortOrder order = jobs::SortOrder::kDesc;
  jobs::FieldSet fields = jobs::FieldSet::All();
};
ExportRequest ParseExportRequest(const http::Request& request);

// Rejects query parameters outside `allowed` and repeated ones: a typo ("stauts=failed")
// must not silently widen a list.
void RequireKnownParams(const http::Request& request, std::initializer_list<std::string_view> allowed);

}  // namespace mljobs::api

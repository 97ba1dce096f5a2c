// A job in JSON: the wire form of jobs::Job (public id as "id", RFC 3339 times), limited to
// the fields a client asked for, appended straight to a response body (json_writer). Every
// endpoint that shows a job renders it here: get, list, export, submit, cancel, the queue.
#pragma once

#include <string>

#include "http/request.hpp"
#include "jobs/job.hpp"

namespace mljobs::api {

// Appends one JSON object: "id" first, "archived": true only for an archived job, then
// the asked-for fields in a fixed order, absent values as null.
void AppendJobJson(std::string& out, const jobs::Job& job, jobs::FieldSet fields);
// Every field plus "lease_token" (last): what a worker gets for a claimed job.
void AppendClaimedJobJson(std::string& out, const jobs::Job& job);
// About how many bytes AppendJobJson adds for `job`: what a body reserves up front.
std::size_t JobJsonBytes(const jobs::Job& job);
// A response whose body is the job with every field.
http::Response JobResponse(int status, const jobs::Job& job);

}  // namespace mljobs::api

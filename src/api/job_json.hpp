// A job in JSON: the wire form of jobs::Job (public id as "id", RFC 3339 times), limited to
// the fields a client asked for. Shared by the job, list and export endpoints.
#pragma once

#include <boost/json/object.hpp>

#include "jobs/job.hpp"

namespace mljobs::api {

boost::json::object JobToJson(const jobs::Job& job, jobs::FieldSet fields);

}  // namespace mljobs::api

#include "api/job_json.hpp"

#include <boost/json/parse.hpp>

#include "jobs/time_format.hpp"

namespace mljobs::api {
namespace {

namespace json = boost::json;
using jobs::Field;

json::value OptString(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

json::value OptTime(const std::optional<jobs::Micros>& t) {
  return t ? json::value(jobs::FormatRfc3339(*t)) : json::value(nullptr);
}

}  // namespace

json::object JobToJson(const jobs::Job& job, jobs::FieldSet fields) {
  json::object o;
  o.reserve(20);
  o["id"] = job.uuid;
  if (job.archived) o["archived"] = true;  // only archived jobs carry the mark
  if (fields.Has(Field::kOwner)) o["owner"] = job.owner;
  if (fields.Has(Field::kModel)) o["model"] = job.model;
  if (fields.Has(Field::kStatus)) o["status"] = jobs::ToString(job.status);
  if (fields.Has(Field::kPriority)) o["priority"] = job.priority;
  if (fields.Has(Field::kInputText)) o["input_text"] = OptString(job.input_text);
  if (fields.Has(Field::kMetadata)) {
    // Stored as validated JSON text; an unparsable value would be a store bug, shown as null.
    json::value meta = nullptr;
    if (job.metadata) {
      boost::system::error_code ec;
      meta = json::parse(*job.metadata, ec);
      if (ec) meta = nullptr;
    }
    o["metadata"] = std::move(meta);
  }
  if (fields.Has(Field::kResultLabel)) o["result_label"] = OptString(job.result_label);
  if (fields.Has(Field::kResultScore)) {
    o["result_score"] = job.result_score ? json::value(*job.result_score) : json::value(nullptr);
  }
  if (fields.Has(Field::kError)) o["error"] = OptString(job.error);
  if (fields.Has(Field::kAttempts)) o["attempts"] = job.attempts;
  if (fields.Has(Field::kMaxAttempts)) o["max_attempts"] = job.max_attempts;
  if (fields.Has(Field::kRunAfter)) o["run_after"] = jobs::FormatRfc3339(job.run_after);
  if (fields.Has(Field::kWorker)) o["worker"] = OptString(job.worker);
  if (fields.Has(Field::kLeaseExpiresAt)) o["lease_expires_at"] = OptTime(job.lease_expires_at);
  if (fields.Has(Field::kCreatedAt)) o["created_at"] = jobs::FormatRfc3339(job.created_at);
  if (fields.Has(Field::kStartedAt)) o["started_at"] = OptTime(job.started_at);
  if (fields.Has(Field::kCompletedAt)) o["completed_at"] = OptTime(job.completed_at);
  if (fields.Has(Field::kUpdatedAt)) o["updated_at"] = jobs::FormatRfc3339(job.updated_at);
  return o;
}

}  // namespace mljobs::api

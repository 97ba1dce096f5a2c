#include "api/job_json.hpp"

#include "api/json_response.hpp"
#include "api/json_writer.hpp"
#include "jobs/time_format.hpp"

namespace mljobs::api {
namespace {

using jobs::Field;

// Room for a job's JSON apart from its free text (input_text, metadata, error), which
// JobJsonBytes adds; escapes may still grow it a little.
constexpr std::size_t kFixedJobJsonBytes = 640;

void OptString(std::string& out, const std::optional<std::string>& s) {
  AppendJsonNullable(out, s, AppendJsonString);
}

void Time(std::string& out, jobs::Micros t) {
  out.push_back('"');
  jobs::AppendRfc3339(out, t);
  out.push_back('"');
}

void OptTime(std::string& out, const std::optional<jobs::Micros>& t) {
  AppendJsonNullable(out, t, Time);
}

std::size_t Size(const std::optional<std::string>& s) { return s ? s->size() : 0; }

// Without the closing brace, so a claim can add the lease token.
void AppendJobFields(std::string& out, const jobs::Job& job, jobs::FieldSet fields) {
  out.append("{\"id\":");
  AppendJsonString(out, job.uuid);
  if (job.archived) out.append(",\"archived\":true");  // only archived jobs carry the mark
  if (fields.Has(Field::kOwner)) {
    out.append(",\"owner\":");
    AppendJsonString(out, job.owner);
  }
  if (fields.Has(Field::kModel)) {
    out.append(",\"model\":");
    AppendJsonString(out, job.model);
  }
  if (fields.Has(Field::kStatus)) {
    out.append(",\"status\":");
    AppendJsonString(out, jobs::ToString(job.status));
  }
  if (fields.Has(Field::kPriority)) {
    out.append(",\"priority\":");
    AppendJsonInt(out, job.priority);
  }
  if (fields.Has(Field::kInputText)) {
    out.append(",\"input_text\":");
    OptString(out, job.input_text);
  }
  if (fields.Has(Field::kMetadata)) {
    // The stores hand out metadata only as valid JSON text (PostgreSQL's jsonb output;
    // SQLite's reader validates), so it is copied, not parsed and re-serialized.
    out.append(",\"metadata\":");
    AppendJsonNullable(out, job.metadata,
                       [](std::string& o, const std::string& json) { o.append(json); });
  }
  if (fields.Has(Field::kResultLabel)) {
    out.append(",\"result_label\":");
    OptString(out, job.result_label);
  }
  if (fields.Has(Field::kResultScore)) {
    out.append(",\"result_score\":");
    AppendJsonNullable(out, job.result_score, AppendJsonDouble);
  }
  if (fields.Has(Field::kError)) {
    out.append(",\"error\":");
    OptString(out, job.error);
  }
  if (fields.Has(Field::kAttempts)) {
    out.append(",\"attempts\":");
    AppendJsonInt(out, job.attempts);
  }
  if (fields.Has(Field::kMaxAttempts)) {
    out.append(",\"max_attempts\":");
    AppendJsonInt(out, job.max_attempts);
  }
  if (fields.Has(Field::kRunAfter)) {
    out.append(",\"run_after\":");
    Time(out, job.run_after);
  }
  if (fields.Has(Field::kWorker)) {
    out.append(",\"worker\":");
    OptString(out, job.worker);
  }
  if (fields.Has(Field::kLeaseExpiresAt)) {
    out.append(",\"lease_expires_at\":");
    OptTime(out, job.lease_expires_at);
  }
  if (fields.Has(Field::kCreatedAt)) {
    out.append(",\"created_at\":");
    Time(out, job.created_at);
  }
  if (fields.Has(Field::kStartedAt)) {
    out.append(",\"started_at\":");
    OptTime(out, job.started_at);
  }
  if (fields.Has(Field::kCompletedAt)) {
    out.append(",\"completed_at\":");
    OptTime(out, job.completed_at);
  }
  if (fields.Has(Field::kUpdatedAt)) {
    out.append(",\"updated_at\":");
    Time(out, job.updated_at);
  }
}

}  // namespace

std::size_t JobJsonBytes(const jobs::Job& job) {
  return kFixedJobJsonBytes + Size(job.input_text) + Size(job.metadata) + Size(job.error);
}

void AppendJobJson(std::string& out, const jobs::Job& job, jobs::FieldSet fields) {
  AppendJobFields(out, job, fields);
  out.push_back('}');
}

void AppendClaimedJobJson(std::string& out, const jobs::Job& job) {
  AppendJobFields(out, job, jobs::FieldSet::All());
  out.append(",\"lease_token\":");
  OptString(out, job.lease_token);
  out.push_back('}');
}

http::Response JobResponse(int status, const jobs::Job& job) {
  std::string body;
  body.reserve(JobJsonBytes(job));
  AppendJobJson(body, job, jobs::FieldSet::All());
  return JsonTextResponse(status, std::move(body));
}

}  // namespace mljobs::api

#include "store/postgres/pg_job_row.hpp"

#include <string>

#include "common/error.hpp"

namespace mljobs::store::postgres {

// One pass over the result's columns: PQfnumber per column would copy and case-fold the
// name and compare it with every column, 21 times per result.
PgJobReader::PgJobReader(const PgResult& result) : result_(result) {
  const std::pair<std::string_view, int*> columns[] = {
      {"id", &id_},
      {"job_uuid", &uuid_},
      {"owner", &owner_},
      {"model", &model_},
      {"input_text", &input_text_},
      {"status", &status_},
      {"priority", &priority_},
      {"result_label", &result_label_},
      {"result_score", &result_score_},
      {"error", &error_},
      {"metadata", &metadata_},
      {"attempts", &attempts_},
      {"max_attempts", &max_attempts_},
      {"run_after", &run_after_},
      {"lease_token", &lease_token_},
      {"lease_expires_at", &lease_expires_at_},
      {"worker", &worker_},
      {"created_at", &created_at_},
      {"started_at", &started_at_},
      {"completed_at", &completed_at_},
      {"updated_at", &updated_at_},
      {"archived", &archived_},  // only in statements that read ml_jobs_archive too
  };
  const int count = PQnfields(result.get());
  for (int col = 0; col < count; ++col) {
    const std::string_view name = PQfname(result.get(), col);
    for (const auto& [column, slot] : columns) {
      if (column == name && *slot < 0) {
        *slot = col;
        break;
      }
    }
  }
}

jobs::Job PgJobReader::Read(int row) const {
  jobs::Job job;
  ReadInto(row, job);
  return job;
}

void PgJobReader::ReadInto(int row, jobs::Job& job) const {
  const PgResult& r = result_;
  auto present = [&](int col) { return col >= 0 && !r.IsNull(row, col); };
  // A column the result lacks leaves the field at its default, as in a new jobs::Job.
  auto text = [&](int col, std::string& out) {
    if (present(col)) {
      out.assign(r.Text(row, col));
    } else {
      out.clear();
    }
  };
  auto opt_text = [&](int col, std::optional<std::string>& out) {
    if (!present(col)) {
      out.reset();
    } else if (out) {
      out->assign(r.Text(row, col));
    } else {
      out.emplace(r.Text(row, col));
    }
  };
  auto integer = [&](int col, auto& out, auto fallback) {
    out = present(col) ? static_cast<std::remove_reference_t<decltype(out)>>(r.Int(row, col))
                       : fallback;
  };
  auto time = [&](int col, jobs::Micros& out) { out = present(col) ? r.Timestamp(row, col) : 0; };
  auto opt_time = [&](int col, std::optional<jobs::Micros>& out) {
    if (present(col)) {
      out = r.Timestamp(row, col);
    } else {
      out.reset();
    }
  };

  static const jobs::Job defaults;
  integer(id_, job.id, defaults.id);
  text(uuid_, job.uuid);
  text(owner_, job.owner);
  text(model_, job.model);
  opt_text(input_text_, job.input_text);
  job.status = defaults.status;
  if (present(status_)) {
    auto status = jobs::ParseStatus(r.Text(row, status_));
    if (!status) {
      throw Error(ErrorCode::kInternal,
                  "postgresql: unknown job status '" + std::string(r.Text(row, status_)) + "'");
    }
    job.status = *status;
  }
  integer(priority_, job.priority, defaults.priority);
  opt_text(result_label_, job.result_label);
  if (present(result_score_)) {
    job.result_score = r.Double(row, result_score_);
  } else {
    job.result_score.reset();
  }
  opt_text(error_, job.error);
  opt_text(metadata_, job.metadata);
  integer(attempts_, job.attempts, defaults.attempts);
  integer(max_attempts_, job.max_attempts, defaults.max_attempts);
  time(run_after_, job.run_after);
  opt_text(lease_token_, job.lease_token);
  opt_time(lease_expires_at_, job.lease_expires_at);
  opt_text(worker_, job.worker);
  time(created_at_, job.created_at);
  opt_time(started_at_, job.started_at);
  opt_time(completed_at_, job.completed_at);
  time(updated_at_, job.updated_at);
  job.archived = present(archived_) ? r.Int(row, archived_) != 0 : defaults.archived;
}

}  // namespace mljobs::store::postgres

#include "store/postgres/pg_job_row.hpp"

#include <string>

#include "common/error.hpp"

namespace mljobs::store::postgres {

PgJobReader::PgJobReader(const PgResult& result)
    : result_(result),
      id_(result.Column("id")),
      uuid_(result.Column("job_uuid")),
      owner_(result.Column("owner")),
      model_(result.Column("model")),
      input_text_(result.Column("input_text")),
      status_(result.Column("status")),
      priority_(result.Column("priority")),
      result_label_(result.Column("result_label")),
      result_score_(result.Column("result_score")),
      error_(result.Column("error")),
      metadata_(result.Column("metadata")),
      attempts_(result.Column("attempts")),
      max_attempts_(result.Column("max_attempts")),
      run_after_(result.Column("run_after")),
      lease_token_(result.Column("lease_token")),
      lease_expires_at_(result.Column("lease_expires_at")),
      worker_(result.Column("worker")),
      created_at_(result.Column("created_at")),
      started_at_(result.Column("started_at")),
      completed_at_(result.Column("completed_at")),
      updated_at_(result.Column("updated_at")) {}

jobs::Job PgJobReader::Read(int row) const {
  const PgResult& r = result_;
  auto present = [&](int col) { return col >= 0 && !r.IsNull(row, col); };
  auto text = [&](int col, std::string& out) {
    if (present(col)) out = r.Text(row, col);
  };
  auto opt_text = [&](int col, std::optional<std::string>& out) {
    if (present(col)) out = std::string(r.Text(row, col));
  };
  auto integer = [&](int col, auto& out) {
    if (present(col)) out = static_cast<std::remove_reference_t<decltype(out)>>(r.Int(row, col));
  };
  auto time = [&](int col, jobs::Micros& out) {
    if (present(col)) out = r.Timestamp(row, col);
  };
  auto opt_time = [&](int col, std::optional<jobs::Micros>& out) {
    if (present(col)) out = r.Timestamp(row, col);
  };

  jobs::Job job;
  integer(id_, job.id);
  text(uuid_, job.uuid);
  text(owner_, job.owner);
  text(model_, job.model);
  opt_text(input_text_, job.input_text);
  if (present(status_)) {
    auto status = jobs::ParseStatus(r.Text(row, status_));
    if (!status) {
      throw Error(ErrorCode::kInternal,
                  "postgresql: unknown job status '" + std::string(r.Text(row, status_)) + "'");
    }
    job.status = *status;
  }
  integer(priority_, job.priority);
  opt_text(result_label_, job.result_label);
  if (present(result_score_)) job.result_score = r.Double(row, result_score_);
  opt_text(error_, job.error);
  opt_text(metadata_, job.metadata);
  integer(attempts_, job.attempts);
  integer(max_attempts_, job.max_attempts);
  time(run_after_, job.run_after);
  opt_text(lease_token_, job.lease_token);
  opt_time(lease_expires_at_, job.lease_expires_at);
  opt_text(worker_, job.worker);
  time(created_at_, job.created_at);
  opt_time(started_at_, job.started_at);
  opt_time(completed_at_, job.completed_at);
  time(updated_at_, job.updated_at);
  return job;
}

}  // namespace mljobs::store::postgres

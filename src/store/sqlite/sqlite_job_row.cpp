#include "store/sqlite/sqlite_job_row.hpp"

#include "common/error.hpp"

namespace mljobs::store::sqlite {

jobs::Job ReadJob(const Statement& statement, HeavyColumns heavy) {
  jobs::Job job;
  job.id = statement.Int64(0);
  job.uuid = statement.Text(1);
  job.owner = statement.Text(2);
  job.model = statement.Text(3);
  std::string status = statement.Text(4);
  auto parsed = jobs::ParseStatus(status);
  if (!parsed) throw Error(ErrorCode::kInternal, "sqlite: unknown job status '" + status + "'");
  job.status = *parsed;
  job.priority = static_cast<int>(statement.Int64(5));
  job.result_label = statement.OptionalText(6);
  job.result_score = statement.OptionalDouble(7);
  job.error = statement.OptionalText(8);
  job.attempts = static_cast<int>(statement.Int64(9));
  job.max_attempts = static_cast<int>(statement.Int64(10));
  job.run_after = statement.Int64(11);
  job.lease_token = statement.OptionalText(12);
  job.lease_expires_at = statement.OptionalInt64(13);
  job.worker = statement.OptionalText(14);
  job.created_at = statement.Int64(15);
  job.started_at = statement.OptionalInt64(16);
  job.completed_at = statement.OptionalInt64(17);
  job.updated_at = statement.Int64(18);
  int column = kLightColumnCount;
  if (heavy.input_text) job.input_text = statement.Text(column++);
  if (heavy.metadata) job.metadata = statement.OptionalText(column++);
  return job;
}

}  // namespace mljobs::store::sqlite

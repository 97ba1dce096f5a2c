// Reads jobs::Job rows out of a result whose columns are any subset of ml_jobs' columns
// (named as in MLJOBS_PG_ALL_COLUMNS). Plain data; any thread.
#pragma once

#include "jobs/job.hpp"
#include "store/postgres/pg_result.hpp"

namespace mljobs::store::postgres {

class PgJobReader {
 public:
  // Looks the columns up once per result.
  explicit PgJobReader(const PgResult& result);
  jobs::Job Read(int row) const;
  // Overwrites every field of `job` with the row, reusing its strings' storage: an export
  // reads each chunk into the same jobs, with no allocation per row once they have grown.
  void ReadInto(int row, jobs::Job& job) const;

 private:
  const PgResult& result_;
  int id_ = -1, uuid_ = -1, owner_ = -1, model_ = -1, input_text_ = -1, status_ = -1,
      priority_ = -1, result_label_ = -1, result_score_ = -1, error_ = -1, metadata_ = -1,
      attempts_ = -1, max_attempts_ = -1, run_after_ = -1, lease_token_ = -1,
      lease_expires_at_ = -1, worker_ = -1, created_at_ = -1, started_at_ = -1, completed_at_ = -1,
      updated_at_ = -1, archived_ = -1;
};

}  // namespace mljobs::store::postgres

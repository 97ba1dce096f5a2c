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

 private:
  const PgResult& result_;
  int id_, uuid_, owner_, model_, input_text_, status_, priority_, result_label_, result_score_,
      error_, metadata_, attempts_, max_attempts_, run_after_, lease_token_, lease_expires_at_,
      worker_, created_at_, started_at_, completed_at_, updated_at_;
};

}  // namespace mljobs::store::postgres

// The ml_jobs columns a read selects, in the order ReadJob expects them, and the reading of
// one row into a jobs::Job. Any thread (on a statement that thread holds).
#pragma once

#include "jobs/job.hpp"
#include "store/sqlite/sqlite_connection.hpp"

namespace mljobs::store::sqlite {

// Every column but the heavy ones (input_text, metadata), which lists skip unless asked.
// ReadJob depends on this order.
inline constexpr char kLightColumns[] =
    "id, job_uuid, owner, model, status, priority, result_label, result_score, error, "
    "attempts, max_attempts, run_after, lease_token, lease_expires_at, worker, created_at, "
    "started_at, completed_at, updated_at";
inline constexpr int kLightColumnCount = 19;

// Which heavy columns follow the light ones, in this order: input_text, then metadata.
struct HeavyColumns {
  bool input_text = false;
  bool metadata = false;

  static HeavyColumns For(jobs::FieldSet fields) {
    return {fields.Has(jobs::Field::kInputText), fields.Has(jobs::Field::kMetadata)};
  }
  static HeavyColumns All() { return {true, true}; }
};

// The current row of `statement`, selected as kLightColumns plus `heavy`. Throws
// Error(kInternal) for a status the schema should have rejected.
jobs::Job ReadJob(const Statement& statement, HeavyColumns heavy);

}  // namespace mljobs::store::sqlite

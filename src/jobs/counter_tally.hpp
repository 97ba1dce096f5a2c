// What bulk-loaded jobs add to the statistics counters (ml_jobs_counters), tallied in memory
// as a load streams its rows, so the load adds a few thousand counter rows in its own
// transaction instead of re-reading the whole table afterwards (StatsStore::RebuildCounters).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "jobs/job.hpp"

namespace mljobs::jobs {

// One row of ml_jobs_counters for a live job (archive_month 0, shard 0). `hour` is µs since
// the epoch (0 for metrics without one); `bucket` is a run-time bound in µs (0 if none).
struct CounterRow {
  std::string metric;
  std::string status;
  std::string model;
  Micros hour = 0;
  std::int64_t bucket = 0;
  std::int64_t jobs = 0;
  std::int64_t micros = 0;
};

// The counting rules of the triggers (PostgreSQL ml_jobs_contributions, SQLite
// ml_jobs_count_change_apply), for rows added to ml_jobs: a job counts once under
// (status, model), once in the hour of created_at, a completed job in the hour of
// completed_at and in its run-time bucket (the smallest bound >= completed_at - started_at),
// a failed job in the hour of coalesce(completed_at, updated_at). tests/integration/seed_test
// checks the result equals RebuildCounters over the same rows.
class CounterTally {
 public:
  // `run_bucket_bounds`: ml_jobs_run_buckets.upper_us, ascending.
  explicit CounterTally(std::vector<std::int64_t> run_bucket_bounds);

  void Add(const Job& job);

  // Every non-zero counter, in no particular order.
  std::vector<CounterRow> Rows() const;

 private:
  std::vector<std::int64_t> bounds_;
  std::map<std::pair<std::string, std::string>, std::int64_t> by_status_model_;
  // Per hour (µs since the epoch): jobs created, completed, failed.
  std::unordered_map<Micros, std::array<std::int64_t, 3>> by_hour_;
  // Per run-time bucket (index into bounds_): jobs and summed µs.
  std::vector<std::pair<std::int64_t, std::int64_t>> runs_;
};

}  // namespace mljobs::jobs

#include "jobs/counter_tally.hpp"

#include <algorithm>

namespace mljobs::jobs {
namespace {

constexpr Micros kHour = 3'600'000'000;

// The start of the hour holding `t` (floor, as date_bin: also for times before 1970).
Micros HourOf(Micros t) {
  Micros r = t % kHour;
  return r < 0 ? t - r - kHour : t - r;
}

enum HourMetric { kCreated, kCompleted, kFailed };

}  // namespace

CounterTally::CounterTally(std::vector<std::int64_t> run_bucket_bounds)
    : bounds_(std::move(run_bucket_bounds)), runs_(bounds_.size()) {}

void CounterTally::Add(const Job& job) {
  ++by_status_model_[{std::string(ToString(job.status)), job.model}];
  ++by_hour_[HourOf(job.created_at)][kCreated];
  if (job.status == JobStatus::kCompleted && job.completed_at) {
    ++by_hour_[HourOf(*job.completed_at)][kCompleted];
    if (job.started_at) {
      std::int64_t us = std::max<std::int64_t>(0, *job.completed_at - *job.started_at);
      auto bound = std::lower_bound(bounds_.begin(), bounds_.end(), us);
      // Past the last bound (~292,000 years): the triggers would fail such a row too.
      if (bound != bounds_.end()) {
        auto& [jobs, micros] = runs_[bound - bounds_.begin()];
        ++jobs;
        micros += us;
      }
    }
  }
  if (job.status == JobStatus::kFailed) {
    ++by_hour_[HourOf(job.completed_at.value_or(job.updated_at))][kFailed];
  }
}

std::vector<CounterRow> CounterTally::Rows() const {
  std::vector<CounterRow> rows;
  for (const auto& [key, jobs] : by_status_model_) {
    rows.push_back({"jobs", key.first, key.second, 0, 0, jobs, 0});
  }
  static constexpr const char* kHourMetrics[] = {"created", "completed", "failed"};
  for (const auto& [hour, counts] : by_hour_) {
    for (int m = 0; m < 3; ++m) {
      if (counts[m] != 0) rows.push_back({kHourMetrics[m], "", "", hour, 0, counts[m], 0});
    }
  }
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    if (runs_[i].first != 0) {
      rows.push_back({"run_time", "", "", 0, bounds_[i], runs_[i].first, runs_[i].second});
    }
  }
  return rows;
}

}  // namespace mljobs::jobs

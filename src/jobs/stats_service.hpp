// Job statistics for GET /jobs/stats and /jobs/stats/timeseries: reads the trigger-kept
// counters (StatsStore) and derives totals, the last 24 hours, and run-time average and
// percentiles from the histogram. Coroutines on the caller's executor; stateless per call.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <span>
#include <vector>

#include "jobs/stats_store.hpp"

namespace mljobs::jobs {

inline constexpr Micros kMicrosPerHour = 3'600'000'000;
// Bounds of GET /jobs/stats/timeseries?hours= (30 days at most).
inline constexpr int kMaxTimeseriesHours = 720;
inline constexpr int kDefaultTimeseriesHours = 48;

struct JobStats {
  CounterSnapshot counters;
  std::int64_t total = 0;     // jobs in ml_jobs (the archive not included)
  std::int64_t archived = 0;  // jobs in ml_jobs_archive
  // Jobs created in the current hour and the 23 before it (live or archived).
  std::int64_t created_last_24h = 0;
  std::int64_t timed_runs = 0;  // completed jobs with a start and an end time
  // Over timed runs, live and archived. Percentiles are the upper bound of the histogram
  // bucket that holds them; nullopt when there is no timed run.
  std::optional<double> run_avg_ms;
  std::optional<double> run_p50_ms;
  std::optional<double> run_p95_ms;
};

// The upper bound (µs) of the bucket holding quantile q (0 < q <= 1) of the runs in
// `buckets` (ascending), or nullopt when they hold none.
std::optional<std::int64_t> QuantileUpperMicros(std::span<const RunTimeBucket> buckets, double q);

// One entry per hour of `hours` hours ending with the hour holding `now`, ascending,
// zero-filled where `counted` (ascending, as Hours returns it) has no entry.
std::vector<HourCounts> FillHours(std::span<const HourCounts> counted, Micros now, int hours);

class StatsService {
 public:
  explicit StatsService(StatsStore& store) : store_(store) {}

  // One statement (StatsStore::Snapshot).
  asio::awaitable<JobStats> Stats(obs::RequestStats& stats, Micros now);

  // `hours` from 1 to kMaxTimeseriesHours (else Error(kInvalidArgument) naming "hours").
  // One statement.
  asio::awaitable<std::vector<HourCounts>> Timeseries(obs::RequestStats& stats, Micros now,
                                                      int hours);

 private:
  StatsStore& store_;
};

}  // namespace mljobs::jobs

#include "jobs/stats_service.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.hpp"

namespace mljobs::jobs {
namespace {

// Hours are aligned to the Unix epoch (UTC), as the counters' hours are.
Micros HourOf(Micros t) { return t - (((t % kMicrosPerHour) + kMicrosPerHour) % kMicrosPerHour); }

}  // namespace

std::optional<std::int64_t> QuantileUpperMicros(std::span<const RunTimeBucket> buckets,
                                                double q) {
  std::int64_t total = 0;
  for (const RunTimeBucket& b : buckets) total += b.jobs;
  if (total <= 0) return std::nullopt;
  // The rank of the quantile run, 1-based: the smallest run with at least q of all runs at
  // or below it.
  auto rank = static_cast<std::int64_t>(std::ceil(q * static_cast<double>(total)));
  rank = std::clamp<std::int64_t>(rank, 1, total);
  std::int64_t seen = 0;
  for (const RunTimeBucket& b : buckets) {
    seen += b.jobs;
    if (seen >= rank) return b.upper_micros;
  }
  return buckets.back().upper_micros;
}

std::vector<HourCounts> FillHours(std::span<const HourCounts> counted, Micros now, int hours) {
  Micros last = HourOf(now);
  Micros first = last - static_cast<Micros>(hours - 1) * kMicrosPerHour;
  std::vector<HourCounts> out;
  out.reserve(static_cast<std::size_t>(hours));
  auto it = counted.begin();
  for (Micros hour = first; hour <= last; hour += kMicrosPerHour) {
    while (it != counted.end() && it->hour < hour) ++it;
    if (it != counted.end() && it->hour == hour) {
      out.push_back(*it);
    } else {
      out.push_back(HourCounts{hour, 0, 0, 0});
    }
  }
  return out;
}

asio::awaitable<JobStats> StatsService::Stats(obs::RequestStats& stats, Micros now) {
  JobStats out;
  out.counters = co_await store_.Snapshot(stats, HourOf(now) - 23 * kMicrosPerHour);
  const CounterSnapshot& c = out.counters;
  out.total = std::accumulate(c.live_by_status.begin(), c.live_by_status.end(), std::int64_t{0});
  out.archived =
      std::accumulate(c.archived_by_status.begin(), c.archived_by_status.end(), std::int64_t{0});
  out.created_last_24h = c.created_since;
  std::int64_t micros = 0;
  for (const RunTimeBucket& b : c.run_time) {
    out.timed_runs += b.jobs;
    micros += b.micros;
  }
  if (out.timed_runs > 0) {
    out.run_avg_ms = static_cast<double>(micros) / static_cast<double>(out.timed_runs) / 1000.0;
    out.run_p50_ms = static_cast<double>(*QuantileUpperMicros(c.run_time, 0.5)) / 1000.0;
    out.run_p95_ms = static_cast<double>(*QuantileUpperMicros(c.run_time, 0.95)) / 1000.0;
  }
  co_return out;
}

asio::awaitable<std::vector<HourCounts>> StatsService::Timeseries(obs::RequestStats& stats,
                                                                  Micros now, int hours) {
  if (hours < 1 || hours > kMaxTimeseriesHours) {
    throw Error(ErrorCode::kInvalidArgument,
                "hours: must be an integer from 1 to " + std::to_string(kMaxTimeseriesHours));
  }
  Micros last = HourOf(now);
  std::vector<HourCounts> counted = co_await store_.Hours(
      stats, last - static_cast<Micros>(hours - 1) * kMicrosPerHour, last + kMicrosPerHour);
  co_return FillHours(counted, now, hours);
}

}  // namespace mljobs::jobs

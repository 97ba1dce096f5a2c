// A fixed-bucket latency histogram (Prometheus buckets, in seconds) for request and
// statement metrics. Plain data: the owner locks.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace mljobs::obs {

// Upper bounds in seconds, 0.5 ms to 10 s; slower observations only reach +Inf.
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct Histogram {
  std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};  // per bucket, not cumulative
  std::uint64_t count = 0;
  double sum_seconds = 0;

  void Observe(std::chrono::nanoseconds elapsed) {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    ++count;
    sum_seconds += seconds;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      if (seconds <= kLatencyBuckets[i]) {
        ++buckets[i];
        return;
      }
    }
  }
};

}  // namespace mljobs::obs

// Process metrics of HTTP requests: counts by method, route pattern and status, and
// latency histograms by method and route, fed by http::Server's RequestObserver. Labels
// are route patterns ("/jobs/{id}"), never raw paths, so their number is bounded by the
// routes. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "obs/histogram.hpp"

namespace mljobs::obs {

class RequestMetrics {
 public:
  void Record(std::string_view method, std::string_view route, int status,
              std::chrono::nanoseconds elapsed);

  // mljobs_http_requests_total and mljobs_http_request_duration_seconds, Prometheus text.
  void AppendPrometheus(std::string& out) const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> counts_;  // guarded by mu_
  std::map<std::pair<std::string, std::string>, Histogram> latency_;          // guarded by mu_
};

}  // namespace mljobs::obs

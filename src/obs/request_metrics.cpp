#include "obs/request_metrics.hpp"

#include "obs/prometheus_text.hpp"

namespace mljobs::obs {

void RequestMetrics::Record(std::string_view method, std::string_view route, int status,
                            std::chrono::nanoseconds elapsed) {
  std::lock_guard lock(mu_);
  ++counts_[{std::string(method), std::string(route), status}];
  latency_[{std::string(method), std::string(route)}].Observe(elapsed);
}

void RequestMetrics::AppendPrometheus(std::string& out) const {
  std::lock_guard lock(mu_);
  AppendHeader(out, "mljobs_http_requests_total", "counter",
               "HTTP requests by method, route pattern and status.");
  for (const auto& [key, count] : counts_) {
    const auto& [method, route, status] = key;
    const std::string code = std::to_string(status);
    AppendSample(out, "mljobs_http_requests_total",
                 {{"method", method}, {"route", route}, {"status", code}},
                 static_cast<double>(count));
  }
  AppendHeader(out, "mljobs_http_request_duration_seconds", "histogram",
               "HTTP request latency by method and route pattern.");
  for (const auto& [key, histogram] : latency_) {
    AppendHistogram(out, "mljobs_http_request_duration_seconds",
                    {{"method", key.first}, {"route", key.second}}, histogram);
  }
}

}  // namespace mljobs::obs

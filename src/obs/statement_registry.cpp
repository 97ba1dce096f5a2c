#include "obs/statement_registry.hpp"

#include <algorithm>
#include <cstdio>

#include "obs/prometheus_text.hpp"

namespace mljobs::obs {

StatementRegistry& StatementRegistry::Global() {
  static StatementRegistry registry;
  return registry;
}

void StatementRegistry::Record(std::string_view name, std::chrono::nanoseconds elapsed,
                               std::int64_t rows) {
  {
    std::lock_guard lock(mu_);
    auto it = totals_.find(std::string(name));
    if (it == totals_.end()) it = totals_.emplace(std::string(name), StatementTotals{}).first;
    it->second.calls++;
    it->second.rows += static_cast<std::uint64_t>(std::max<std::int64_t>(rows, 0));
    it->second.total += elapsed;
    it->second.latency.Observe(elapsed);
    if (elapsed < slow_threshold_) return;
    SlowStatement slow{std::string(name), std::chrono::system_clock::now(), elapsed, rows};
    if (slow_ring_.size() < kSlowRingSize) {
      slow_ring_.push_back(std::move(slow));
    } else {
      slow_ring_[slow_next_] = std::move(slow);
    }
    slow_next_ = (slow_next_ + 1) % kSlowRingSize;
  }
  // Outside the lock: a slow terminal must not stall every statement. Statement names are
  // identifiers (letters, digits, _), so they need no JSON escaping.
  std::fprintf(stderr, "{\"slow_query\":{\"statement\":\"%.*s\",\"ms\":%.3f,\"rows\":%lld}}\n",
               static_cast<int>(name.size()), name.data(),
               std::chrono::duration<double, std::milli>(elapsed).count(),
               static_cast<long long>(rows));
}

std::chrono::milliseconds StatementRegistry::slow_threshold() const {
  std::lock_guard lock(mu_);
  return std::chrono::duration_cast<std::chrono::milliseconds>(slow_threshold_);
}

void StatementRegistry::AppendPrometheus(std::string& out) const {
  std::lock_guard lock(mu_);
  AppendHeader(out, "mljobs_db_statements_total", "counter", "SQL statements run, by name.");
  for (const auto& [name, totals] : totals_) {
    AppendSample(out, "mljobs_db_statements_total", {{"statement", name}},
                 static_cast<double>(totals.calls));
  }
  AppendHeader(out, "mljobs_db_statement_rows_total", "counter",
               "Rows returned or changed by SQL statements, by name.");
  for (const auto& [name, totals] : totals_) {
    AppendSample(out, "mljobs_db_statement_rows_total", {{"statement", name}},
                 static_cast<double>(totals.rows));
  }
  AppendHeader(out, "mljobs_db_statement_duration_seconds", "histogram",
               "SQL statement latency, by name.");
  for (const auto& [name, totals] : totals_) {
    AppendHistogram(out, "mljobs_db_statement_duration_seconds", {{"statement", name}},
                    totals.latency);
  }
}

void StatementRegistry::SetSlowThreshold(std::chrono::milliseconds threshold) {
  std::lock_guard lock(mu_);
  slow_threshold_ = threshold;
}

std::unordered_map<std::string, StatementTotals> StatementRegistry::Totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

std::vector<SlowStatement> StatementRegistry::SlowStatements() const {
  std::lock_guard lock(mu_);
  std::vector<SlowStatement> out;
  out.reserve(slow_ring_.size());
  // Walk backwards from the most recently written slot.
  for (std::size_t i = 0; i < slow_ring_.size(); ++i) {
    std::size_t idx = (slow_next_ + kSlowRingSize - 1 - i) % kSlowRingSize;
    if (idx < slow_ring_.size()) out.push_back(slow_ring_[idx]);
  }
  return out;
}

}  // namespace mljobs::obs

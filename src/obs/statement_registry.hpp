// Process-wide statistics per named SQL statement (calls, total time, rows, a latency
// histogram), the bounded ring of slow statements, and the slow query log: one JSON line
// on stderr per slow statement (name, duration, rows; never parameter values).
// Thread-safe; fed by RequestStats::RecordStatement.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "obs/histogram.hpp"

namespace mljobs::obs {

struct StatementTotals {
  std::uint64_t calls = 0;
  std::uint64_t rows = 0;
  std::chrono::nanoseconds total{0};
  Histogram latency;
};

struct SlowStatement {
  std::string name;
  std::chrono::system_clock::time_point at;
  std::chrono::nanoseconds elapsed{0};
  std::int64_t rows = 0;
};

class StatementRegistry {
 public:
  static constexpr std::size_t kSlowRingSize = 256;

  static StatementRegistry& Global();

  void Record(std::string_view name, std::chrono::nanoseconds elapsed, std::int64_t rows);
  // Statements at least this slow go to the ring and the log (default 100 ms; serve's
  // --slow-query-ms).
  void SetSlowThreshold(std::chrono::milliseconds threshold);
  std::chrono::milliseconds slow_threshold() const;

  // mljobs_db_statements_total, mljobs_db_statement_rows_total and
  // mljobs_db_statement_duration_seconds, Prometheus text.
  void AppendPrometheus(std::string& out) const;

  std::unordered_map<std::string, StatementTotals> Totals() const;
  // Newest first.
  std::vector<SlowStatement> SlowStatements() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, StatementTotals> totals_;  // guarded by mu_
  std::vector<SlowStatement> slow_ring_;                     // guarded by mu_
  std::size_t slow_next_ = 0;                                // guarded by mu_
  std::chrono::nanoseconds slow_threshold_ = std::chrono::milliseconds(100);  // guarded by mu_
};

}  // namespace mljobs::obs

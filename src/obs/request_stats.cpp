#include "obs/request_stats.hpp"

#include "obs/statement_registry.hpp"

namespace mljobs::obs {

void RequestStats::RecordStatement(std::string_view name, std::chrono::nanoseconds elapsed,
                                   std::int64_t rows) {
  ++statements_;
  db_time_ += elapsed;
  StatementRegistry::Global().Record(name, elapsed, rows);
}

}  // namespace mljobs::obs

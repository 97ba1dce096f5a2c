#include "obs/statement_registry.hpp"

#include <algorithm>

namespace mljobs::obs {

StatementRegistry& StatementRegistry::Global() {
  static StatementRegistry registry;
  return registry;
}

void StatementRegistry::Record(std::string_view name, std::chrono::nanoseconds elapsed,
                               std::int64_t rows) {
  std::lock_guard lock(mu_);
  auto it = totals_.find(std::string(name));
  if (it == totals_.end()) it = totals_.emplace(std::string(name), StatementTotals{}).first;
  it->second.calls++;
  it->second.rows += static_cast<std::uint64_t>(std::max<std::int64_t>(rows, 0));
  it->second.total += elapsed;
  if (elapsed < slow_threshold_) return;
  SlowStatement slow{std::string(name), std::chrono::system_clock::now(), elapsed, rows};
  if (slow_ring_.size() < kSlowRingSize) {
    slow_ring_.push_back(std::move(slow));
  } else {
    slow_ring_[slow_next_] = std::move(slow);
  }
  slow_next_ = (slow_next_ + 1) % kSlowRingSize;
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

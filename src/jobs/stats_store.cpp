#include "jobs/stats_store.hpp"

#include <algorithm>

namespace mljobs::jobs {

void AddCounterRow(CounterSnapshot& snapshot, std::string_view metric, bool archived,
                   std::string_view status, std::string_view model, std::int64_t bucket,
                   std::int64_t jobs, std::int64_t micros) {
  if (metric == "jobs") {
    std::optional<JobStatus> parsed = ParseStatus(status);
    if (!parsed) return;  // the table's CHECK allows no other status
    auto& by_status = archived ? snapshot.archived_by_status : snapshot.live_by_status;
    by_status[static_cast<int>(*parsed)] += jobs;
    if (archived || jobs == 0) return;
    auto it = std::find_if(snapshot.live_by_model.begin(), snapshot.live_by_model.end(),
                           [&](const auto& entry) { return entry.first == model; });
    if (it == snapshot.live_by_model.end()) {
      snapshot.live_by_model.emplace_back(std::string(model), jobs);
    } else {
      it->second += jobs;
    }
  } else if (metric == "created") {
    snapshot.created_since += jobs;
  } else if (metric == "run_time") {
    auto it = std::find_if(snapshot.run_time.begin(), snapshot.run_time.end(),
                           [&](const RunTimeBucket& b) { return b.upper_micros == bucket; });
    if (it == snapshot.run_time.end()) {
      snapshot.run_time.push_back(RunTimeBucket{bucket, jobs, micros});
    } else {
      it->jobs += jobs;
      it->micros += micros;
    }
  }
}

void FinishSnapshot(CounterSnapshot& snapshot) {
  std::erase_if(snapshot.live_by_model, [](const auto& entry) { return entry.second == 0; });
  std::sort(snapshot.live_by_model.begin(), snapshot.live_by_model.end());
  std::erase_if(snapshot.run_time, [](const RunTimeBucket& b) { return b.jobs == 0; });
  std::sort(snapshot.run_time.begin(), snapshot.run_time.end(),
            [](const RunTimeBucket& a, const RunTimeBucket& b) {
              return a.upper_micros < b.upper_micros;
            });
}

}  // namespace mljobs::jobs

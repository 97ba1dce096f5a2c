// What a list, count or export asks of the store: the filter, the keyset position to
// continue after, the order and the page size. Built and validated by JobService.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jobs/job.hpp"

namespace mljobs::jobs {

struct JobFilter {
  std::vector<JobStatus> statuses;  // empty: any status; otherwise sorted, no repeats
  std::optional<std::string> model;
  std::optional<Micros> created_after;   // created_at >= this
  std::optional<Micros> created_before;  // created_at < this
  std::optional<std::string> owner;      // set by the service when the caller is a user
  // Also ml_jobs_archive: its rows merge into the same (created_at, id) order (ids are
  // unique across both tables: a job is moved, never copied) and read as Job::archived.
  bool include_archived = false;

  bool operator==(const JobFilter&) const = default;
};

enum class SortOrder { kDesc, kAsc };

// A keyset position: the last row a page showed. Rows compare by (created_at, id).
struct Position {
  Micros created_at = 0;
  std::int64_t id = 0;
  bool operator==(const Position&) const = default;
};

inline constexpr int kMaxPageSize = 1000;
inline constexpr int kDefaultPageSize = 50;

struct ListQuery {
  JobFilter filter;
  SortOrder order = SortOrder::kDesc;
  std::optional<Position> after;  // continue strictly after this row, in `order`
  int limit = kDefaultPageSize;   // 1..kMaxPageSize
  FieldSet fields = FieldSet::Light();
};

// One page. The store reads limit + 1 rows to learn has_more without counting.
struct Page {
  std::vector<Job> jobs;
  bool has_more = false;
};

struct CountResult {
  std::int64_t total = 0;
  bool is_estimate = false;
};

}  // namespace mljobs::jobs

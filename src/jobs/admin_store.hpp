// The storage interface of the operator's view (store/postgres, store/sqlite implement
// it): table and index sizes and usage, the connection pool, and the plans of the
// service's own named statements. Never runs SQL from outside. Coroutines on the
// caller's executor, except PoolStats, which any thread may call.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jobs/job.hpp"
#include "jobs/job_query.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::jobs {

namespace asio = boost::asio;

// The connection pool now (PostgreSQL: PgPool; SQLite: the reader connections).
struct PoolStats {
  int size = 0;    // connections open
  int in_use = 0;  // leased to a statement
  int idle = 0;
  int waiting = 0;  // calls queued for a connection
  std::uint64_t acquired = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t recycled = 0;
};

struct TableHealth {
  std::string name;
  std::int64_t heap_bytes = 0;
  std::int64_t index_bytes = 0;
  std::int64_t total_bytes = 0;
  std::optional<std::int64_t> row_estimate;  // statistics; absent before any ANALYZE
  // PostgreSQL only.
  std::optional<std::int64_t> dead_tuples;
  std::optional<Micros> last_autovacuum;
  std::optional<Micros> last_autoanalyze;
};

struct IndexHealth {
  std::string name;
  std::string table;
  std::int64_t size_bytes = 0;
  // PostgreSQL only (SQLite keeps no index usage counters).
  std::optional<std::int64_t> scans;
  std::optional<std::int64_t> tuples_read;
  bool unused = false;  // never scanned since statistics were reset, and not unique
};

struct DbHealth {
  std::vector<TableHealth> tables;
  std::vector<IndexHealth> indexes;
  std::optional<double> cache_hit_ratio;  // 0..1; absent before any read
  // SQLite only.
  std::optional<std::int64_t> page_size;
  std::optional<std::int64_t> page_count;
  std::optional<std::int64_t> freelist_pages;
  std::optional<std::int64_t> wal_bytes;
};

// The statements /admin/explain may show; nothing else can be explained.
enum class ExplainTarget { kFirstPage, kDeepPage, kPending, kDateRange, kStatusCount, kClaim };

inline constexpr std::pair<std::string_view, ExplainTarget> kExplainTargets[] = {
    {"first_page", ExplainTarget::kFirstPage},     {"deep_page", ExplainTarget::kDeepPage},
    {"pending", ExplainTarget::kPending},          {"date_range", ExplainTarget::kDateRange},
    {"status_count", ExplainTarget::kStatusCount}, {"claim", ExplainTarget::kClaim},
};

inline std::string_view ExplainTargetName(ExplainTarget target) {
  for (const auto& [name, value] : kExplainTargets) {
    if (value == target) return name;
  }
  return "";
}

// nullopt for a name not in kExplainTargets.
inline std::optional<ExplainTarget> ParseExplainTarget(std::string_view name) {
  for (const auto& [known, value] : kExplainTargets) {
    if (known == name) return value;
  }
  return std::nullopt;
}

// The list query behind a list target, with representative parameters: the date range is
// the day before `now`; the deep page's position is a placeholder each store replaces with
// a row from the middle of the table. Targets that are not lists give the first page.
inline ListQuery ExplainListQuery(ExplainTarget target, Micros now) {
  constexpr Micros kDay = 24LL * 3600 * 1'000'000;
  ListQuery query;
  switch (target) {
    case ExplainTarget::kDeepPage:
      query.after = Position{now, INT64_MAX};
      break;
    case ExplainTarget::kPending:
      query.filter.statuses = {JobStatus::kPending};
      break;
    case ExplainTarget::kDateRange:
      query.filter.created_after = now - kDay;
      query.filter.created_before = now;
      break;
    case ExplainTarget::kFirstPage:
    case ExplainTarget::kStatusCount:
    case ExplainTarget::kClaim:
      break;
  }
  return query;
}

struct ExplainResult {
  std::string statement;  // the statement name, as in statement statistics
  std::string sql;        // the SQL the service runs (parameters as placeholders)
  std::string plan;       // PostgreSQL: EXPLAIN (ANALYZE, FORMAT JSON); SQLite: QUERY PLAN lines
  bool plan_is_json = false;
  bool uses_index = false;
  std::vector<std::string> seq_scans;  // tables read by a full scan
  double execution_ms = 0;
};

class AdminStore {
 public:
  virtual ~AdminStore() = default;

  // Sizes, statistics and usage of mljobs' tables and indexes. A few catalogue reads
  // (SQLite: dbstat reads every page of the file, so it takes as long as a scan).
  virtual asio::awaitable<DbHealth> Health(obs::RequestStats& stats) = 0;

  // Runs the named statement with representative parameters under EXPLAIN ANALYZE
  // (SQLite: EXPLAIN QUERY PLAN, then the statement itself, timed). nullopt when this
  // build has no such statement yet.
  virtual asio::awaitable<std::optional<ExplainResult>> Explain(obs::RequestStats& stats,
                                                                ExplainTarget target) = 0;

  virtual PoolStats Pool() const = 0;
};

}  // namespace mljobs::jobs

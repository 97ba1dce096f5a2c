// The statistics storage interface (store/postgres, store/sqlite): job counters that
// database triggers keep exact in the same transaction as every write to ml_jobs and
// ml_jobs_archive (migration 0003), read by summing a small table whatever the job count.
// Coroutines on the caller's executor; callable from any thread.
//
// Bulk loaders that write rows with the triggers off must call RebuildCounters after:
// - PostgreSQL: `SET session_replication_role = replica` on the loading session (only that
//   session skips triggers), or ALTER TABLE ml_jobs DISABLE TRIGGER ml_jobs_count_insert.
// - SQLite: INSERT INTO mljobs_meta (key, value) VALUES ('counters_paused', '1') before
//   loading (every trigger checks it; it pauses counting for all writers), and
//   DELETE FROM mljobs_meta WHERE key = 'counters_paused' after, before RebuildCounters.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::jobs {

namespace asio = boost::asio;

// One bucket of the run-time histogram of completed jobs (completed_at - started_at).
struct RunTimeBucket {
  std::int64_t upper_micros = 0;  // the bucket holds runs <= this and > the previous bound
  std::int64_t jobs = 0;
  std::int64_t micros = 0;  // sum of those jobs' run times
};

// The counters as stored, before the service derives averages and percentiles.
struct CounterSnapshot {
  std::array<std::int64_t, kStatusCount> live_by_status{};  // ml_jobs, indexed by JobStatus
  std::array<std::int64_t, kStatusCount> archived_by_status{};  // ml_jobs_archive
  std::vector<std::pair<std::string, std::int64_t>> live_by_model;  // sorted by model
  std::int64_t created_since = 0;  // jobs (live or archived) created at or after `since_hour`
  std::vector<RunTimeBucket> run_time;  // live and archived, ascending bounds, non-empty only
};

// Jobs per hour: created (by created_at), completed and failed (by completed_at).
struct HourCounts {
  Micros hour = 0;  // start of the hour, UTC
  std::int64_t created = 0;
  std::int64_t completed = 0;
  std::int64_t failed = 0;
};

// Adds one summed counter row (as ml_jobs_counters holds it: metric 'jobs', 'created' or
// 'run_time') to `snapshot`; the stores share it so both read their rows the same way.
void AddCounterRow(CounterSnapshot& snapshot, std::string_view metric, bool archived,
                   std::string_view status, std::string_view model, std::int64_t bucket,
                   std::int64_t jobs, std::int64_t micros);
// Sorts models and run-time buckets once every row was added.
void FinishSnapshot(CounterSnapshot& snapshot);

class StatsStore {
 public:
  virtual ~StatsStore() = default;

  // Every counter, with `created_since` summed over the hours starting at or after
  // `since_hour`. One statement over ml_jobs_counters only (never ml_jobs).
  virtual asio::awaitable<CounterSnapshot> Snapshot(obs::RequestStats& stats,
                                                    Micros since_hour) = 0;

  // Hours in [from_hour, to_hour) that have any count, ascending. One statement.
  virtual asio::awaitable<std::vector<HourCounts>> Hours(obs::RequestStats& stats,
                                                         Micros from_hour, Micros to_hour) = 0;

  // Recomputes every counter from ml_jobs and ml_jobs_archive with GROUP BY, in one
  // transaction that blocks writers of both tables while it runs (seconds at 10M rows).
  // For bulk loaders that wrote with the triggers off, and for repair.
  virtual asio::awaitable<void> RebuildCounters(obs::RequestStats& stats) = 0;
};

}  // namespace mljobs::jobs

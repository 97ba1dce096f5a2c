// The archival storage interface (store/postgres, store/sqlite): moves finished jobs from
// ml_jobs to ml_jobs_archive one atomic batch at a time, and removes expired archive rows.
// Coroutines on the caller's executor; callable from any thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jobs/job.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::jobs {

namespace asio = boost::asio;

struct PurgeStep {
  std::int64_t purged = 0;                   // rows removed by this call
  std::vector<std::string> dropped;          // whole partitions dropped (PostgreSQL only)
  bool more = false;  // the row-by-row part hit its limit: call again
};

// Which run a RunLock serializes: archive runs exclude each other, purge runs too.
enum class ArchiveRun { kArchive, kPurge };

// Held for the length of one run, across every process on the database; a process that
// dies releases it with its connection (PostgreSQL) or file descriptor (SQLite).
class RunLock {
 public:
  virtual ~RunLock() = default;
  // Lets the next run start now. Never throws: a failure still frees the lock when the
  // holder's connection closes.
  virtual asio::awaitable<void> Release() = 0;
};

class ArchiveStore {
 public:
  virtual ~ArchiveStore() = default;

  // The run lock of `run`, or null at once when another run of it holds the lock.
  virtual asio::awaitable<std::unique_ptr<RunLock>> TryLockRun(obs::RequestStats& stats,
                                                               ArchiveRun run) = 0;

  // Moves at most `limit` jobs that are completed, failed or cancelled with completed_at
  // before `cutoff`, oldest completed_at first, into ml_jobs_archive (archived_at = now):
  // one atomic step, so a crash leaves every job in exactly one table. A job whose status
  // changes meanwhile is either moved with its final state or left alone. Returns how many
  // moved (fewer than `limit`: none are left). At most two statements.
  virtual asio::awaitable<std::int64_t> ArchiveBatch(obs::RequestStats& stats, Micros cutoff,
                                                     int limit, Micros now) = 0;

  // One step of retention: removes archived jobs with completed_at before `cutoff`.
  // PostgreSQL first drops every month partition wholly before `cutoff` (with its
  // counters), then deletes at most `limit` rows of the boundary month; SQLite deletes at
  // most `limit` rows. Call again while `more`.
  virtual asio::awaitable<PurgeStep> PurgeBatch(obs::RequestStats& stats, Micros cutoff,
                                                int limit) = 0;
};

}  // namespace mljobs::jobs

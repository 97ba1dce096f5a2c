// The storage interface every backend implements (store/postgres, store/sqlite). Methods
// are coroutines on the caller's executor; none blocks an io thread on the network.
// Each records every SQL statement it runs into the given RequestStats.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job.hpp"
#include "jobs/job_query.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::jobs {

namespace asio = boost::asio;

// Receives export rows chunk by chunk; returns false to stop early (client went away).
using ExportSink = std::function<asio::awaitable<bool>(std::span<const Job>)>;

enum class CancelOutcome { kCancelled, kNotFound, kNotCancellable };

struct CancelResult {
  CancelOutcome outcome = CancelOutcome::kNotFound;
  std::optional<Job> job;  // the job after the attempt (absent when not found)
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // "postgresql" or "sqlite".
  virtual std::string_view Backend() const = 0;

  // Applies pending numbered migrations, recording each in schema_migrations.
  // Idempotent. Throws Error(kUnavailable) when the database cannot be reached.
  virtual asio::awaitable<void> Migrate() = 0;

  // A secret created once per database (by the first migration), used to sign cursors so
  // that they survive restarts and are the same across server processes.
  virtual asio::awaitable<std::string> ServerSecret(obs::RequestStats& stats) = 0;

  // Inserts one job, returning it as stored (with its internal id). One statement.
  virtual asio::awaitable<Job> Insert(obs::RequestStats& stats, const NewJob& job) = 0;

  // Inserts all jobs or none, in one statement (or COPY). Throws Error(kInvalidArgument)
  // on a uuid collision or constraint violation, with nothing inserted.
  virtual asio::awaitable<void> InsertBatch(obs::RequestStats& stats,
                                            std::span<const NewJob> jobs) = 0;

  // The job with this public id, or nullopt. When `owner` is set, another owner's job is
  // nullopt too. One statement. Reads every field.
  virtual asio::awaitable<std::optional<Job>> Get(obs::RequestStats& stats, std::string_view uuid,
                                                  const std::optional<std::string>& owner) = 0;

  // pending or running -> cancelled (completed_at = updated_at = now). A finished job is
  // kNotCancellable and unchanged. One statement when it succeeds.
  virtual asio::awaitable<CancelResult> Cancel(obs::RequestStats& stats, std::string_view uuid,
                                               const std::optional<std::string>& owner,
                                               Micros now) = 0;

  // One keyset page: rows matching query.filter strictly after query.after in query.order
  // by (created_at, id), at most query.limit of them, reading heavy columns only when
  // query.fields asks. One statement, using an index for order and filter.
  virtual asio::awaitable<Page> List(obs::RequestStats& stats, const ListQuery& query) = 0;

  // Rows matching the filter: exact (a COUNT) or the planner's / statistics' estimate.
  virtual asio::awaitable<CountResult> Count(obs::RequestStats& stats, const JobFilter& filter,
                                             bool estimated) = 0;

  // Every row matching the filter in `order`, handed to `sink` in chunks of at most
  // `chunk_rows`, in memory bounded by one chunk. Stops when sink returns false.
  virtual asio::awaitable<void> Export(obs::RequestStats& stats, const JobFilter& filter,
                                       SortOrder order, FieldSet fields, int chunk_rows,
                                       const ExportSink& sink) = 0;

  // One trivial statement; throws Error(kUnavailable) when the database is unreachable.
  virtual asio::awaitable<void> Ping(obs::RequestStats& stats) = 0;
};

}  // namespace mljobs::jobs

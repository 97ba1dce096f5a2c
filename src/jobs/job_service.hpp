// The job rules between the API and the store: validates what a job may hold, assigns
// ids and times, turns cursors into keyset positions and back, and decides what a
// cancel, list or export means. Coroutines on the caller's executor; stateless per call.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "jobs/cursor.hpp"
#include "jobs/job.hpp"
#include "jobs/job_query.hpp"
#include "jobs/job_store.hpp"
#include "obs/request_stats.hpp"

namespace mljobs::jobs {

// Bounds on what one job may carry (documented in docs/API.md).
inline constexpr std::size_t kMaxInputTextBytes = 64 * 1024;
inline constexpr std::size_t kMaxModelBytes = 128;
inline constexpr std::size_t kMaxMetadataBytes = 16 * 1024;
inline constexpr int kMinPriority = -1000;
inline constexpr int kMaxPriority = 1000;
inline constexpr int kMaxMaxAttempts = 20;
inline constexpr std::size_t kMaxBatchJobs = 10'000;
inline constexpr int kExportChunkRows = 1000;

// A job as the client asked for it; the service checks it and fills in the rest.
struct JobRequest {
  std::string model;
  std::string input_text;
  int priority = 0;
  std::optional<std::string> metadata;  // JSON text (the API already parsed it)
  int max_attempts = 3;
};

enum class CountMode { kNone, kExact, kEstimated };

struct ListRequest {
  JobFilter filter;
  SortOrder order = SortOrder::kDesc;
  std::optional<std::string> cursor;
  int limit = kDefaultPageSize;
  FieldSet fields = FieldSet::Light();
  CountMode count = CountMode::kNone;
};

struct ListResult {
  Page page;
  std::optional<std::string> next_cursor;  // set when page.has_more
  std::optional<CountResult> count;
};

class JobService {
 public:
  JobService(JobStore& store, std::string cursor_secret)
      : store_(store), cursors_(std::move(cursor_secret)) {}

  // Throws Error(kInvalidArgument) naming the field ("input_text: ...") for bad input.
  asio::awaitable<Job> Submit(obs::RequestStats& stats, const std::string& owner,
                              JobRequest request);

  // All or nothing; errors name the job ("jobs[17].model: ..."). Returns the new ids in
  // request order.
  asio::awaitable<std::vector<std::string>> SubmitBatch(obs::RequestStats& stats,
                                                        const std::string& owner,
                                                        std::vector<JobRequest> requests);

  // Error(kNotFound) when absent, not a UUID, or (with `owner`) someone else's.
  asio::awaitable<Job> Get(obs::RequestStats& stats, std::string_view id,
                           const std::optional<std::string>& owner);

  // Error(kNotFound) / Error(kConflict, ..., "not_cancellable") for a finished job.
  asio::awaitable<Job> Cancel(obs::RequestStats& stats, std::string_view id,
                              const std::optional<std::string>& owner);

  // Error(kInvalidArgument, ..., "invalid_cursor") for a cursor that is not for this list.
  asio::awaitable<ListResult> List(obs::RequestStats& stats, const ListRequest& request);

  asio::awaitable<void> Export(obs::RequestStats& stats, const JobFilter& filter,
                               SortOrder order, FieldSet fields, const ExportSink& sink);

  // Ok or throws Error(kUnavailable).
  asio::awaitable<void> Ping(obs::RequestStats& stats);

  // The checks Submit applies; public so a batch can be validated before any write.
  static void Validate(const JobRequest& request, const std::string& where);

 private:
  NewJob Prepare(const std::string& owner, JobRequest request, Micros now) const;

  JobStore& store_;
  CursorCodec cursors_;
};

}  // namespace mljobs::jobs

#include "jobs/job_service.hpp"

#include "common/error.hpp"
#include "jobs/time_format.hpp"
#include "jobs/uuid_v7.hpp"

namespace mljobs::jobs {
namespace {

[[noreturn]] void Invalid(const std::string& where, std::string_view field, std::string_view what) {
  throw Error(ErrorCode::kInvalidArgument, where + std::string(field) + ": " + std::string(what));
}

bool ValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

void JobService::Validate(const JobRequest& r, const std::string& where) {
  if (r.model.empty()) Invalid(where, "model", "is required");
  if (r.model.size() > kMaxModelBytes) Invalid(where, "model", "is longer than 128 bytes");
  for (char c : r.model) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':' || c == '/';
    if (!ok) Invalid(where, "model", "may hold only letters, digits and - _ . : /");
  }
  if (r.input_text.empty()) Invalid(where, "input_text", "is required and must not be empty");
  if (r.input_text.size() > kMaxInputTextBytes) {
    Invalid(where, "input_text", "is longer than 65536 bytes");
  }
  // PostgreSQL text cannot hold NUL and both backends expect UTF-8.
  if (r.input_text.find('\0') != std::string::npos || !ValidUtf8(r.input_text)) {
    Invalid(where, "input_text", "must be UTF-8 text without NUL characters");
  }
  if (r.priority < kMinPriority || r.priority > kMaxPriority) {
    Invalid(where, "priority", "must be between -1000 and 1000");
  }
  if (r.max_attempts < 1 || r.max_attempts > kMaxMaxAttempts) {
    Invalid(where, "max_attempts", "must be between 1 and 20");
  }
  if (r.metadata && r.metadata->size() > kMaxMetadataBytes) {
    Invalid(where, "metadata", "is larger than 16384 bytes");
  }
}

NewJob JobService::Prepare(const std::string& owner, JobRequest r, Micros now) const {
  NewJob job;
  job.uuid = NewUuidV7(now);
  job.owner = owner;
  job.model = std::move(r.model);
  job.input_text = std::move(r.input_text);
  job.priority = r.priority;
  job.metadata = std::move(r.metadata);
  job.max_attempts = r.max_attempts;
  job.created_at = now;
  return job;
}

asio::awaitable<Job> JobService::Submit(obs::RequestStats& stats, const std::string& owner,
                                        JobRequest request) {
  Validate(request, "");
  co_return co_await store_.Insert(stats, Prepare(owner, std::move(request), NowMicros()));
}

asio::awaitable<std::vector<std::string>> JobService::SubmitBatch(obs::RequestStats& stats,
                                                                  const std::string& owner,
                                                                  std::vector<JobRequest> requests) {
  if (requests.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "jobs: must hold at least one job");
  }
  if (requests.size() > kMaxBatchJobs) {
    throw Error(ErrorCode::kInvalidArgument, "jobs: at most 10000 jobs per batch (got " +
                                                 std::to_string(requests.size()) + ")");
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    Validate(requests[i], "jobs[" + std::to_string(i) + "].");
  }
  // One timestamp for the batch; each job still gets its own UUIDv7.
  const Micros now = NowMicros();
  std::vector<NewJob> jobs;
  jobs.reserve(requests.size());
  std::vector<std::string> ids;
  ids.reserve(requests.size());
  for (auto& r : requests) {
    jobs.push_back(Prepare(owner, std::move(r), now));
    ids.push_back(jobs.back().uuid);
  }
  co_await store_.InsertBatch(stats, jobs);
  co_return ids;
}

asio::awaitable<Job> JobService::Get(obs::RequestStats& stats, std::string_view id,
                                     const std::optional<std::string>& owner) {
  auto uuid = NormalizeUuid(id);
  if (uuid) {
    auto job = co_await store_.Get(stats, *uuid, owner);
    if (job) co_return std::move(*job);
  }
  throw Error(ErrorCode::kNotFound, "no job with id '" + std::string(id) + "'");
}

asio::awaitable<Job> JobService::Cancel(obs::RequestStats& stats, std::string_view id,
                                        const std::optional<std::string>& owner) {
  auto uuid = NormalizeUuid(id);
  if (!uuid) throw Error(ErrorCode::kNotFound, "no job with id '" + std::string(id) + "'");
  CancelResult result = co_await store_.Cancel(stats, *uuid, owner, NowMicros());
  switch (result.outcome) {
    case CancelOutcome::kCancelled:
      co_return std::move(*result.job);
    case CancelOutcome::kNotCancellable:
      throw Error(ErrorCode::kConflict,
                  "job is " + std::string(ToString(result.job->status)) +
                      "; only pending or running jobs can be cancelled",
                  "not_cancellable");
    case CancelOutcome::kNotFound:
      break;
  }
  throw Error(ErrorCode::kNotFound, "no job with id '" + std::string(id) + "'");
}

asio::awaitable<ListResult> JobService::List(obs::RequestStats& stats,
                                             const ListRequest& request) {
  ListQuery query;
  query.filter = request.filter;
  query.order = request.order;
  query.limit = request.limit;
  query.fields = request.fields;
  if (request.cursor) query.after = cursors_.Decode(*request.cursor, request.filter, request.order);

  ListResult result;
  result.page = co_await store_.List(stats, query);
  if (result.page.has_more && !result.page.jobs.empty()) {
    const Job& last = result.page.jobs.back();
    result.next_cursor =
        cursors_.Encode(Position{last.created_at, last.id}, request.filter, request.order);
  }
  if (request.count != CountMode::kNone) {
    result.count =
        co_await store_.Count(stats, request.filter, request.count == CountMode::kEstimated);
  }
  co_return result;
}

asio::awaitable<void> JobService::Export(obs::RequestStats& stats, const JobFilter& filter,
                                         SortOrder order, FieldSet fields,
                                         const ExportSink& sink) {
  co_await store_.Export(stats, filter, order, fields, kExportChunkRows, sink);
}

asio::awaitable<void> JobService::Ping(obs::RequestStats& stats) { co_await store_.Ping(stats); }

}  // namespace mljobs::jobs

// Domain types of an ML job: its status, the row as the service sees it, what a new
// job carries, and which fields a read asks for. No JSON, no SQL here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mljobs::jobs {

// Microseconds since the Unix epoch, UTC. The one time type of the domain.
using Micros = std::int64_t;

enum class JobStatus : std::uint8_t { kPending, kRunning, kCompleted, kFailed, kCancelled };
inline constexpr int kStatusCount = 5;

std::string_view ToString(JobStatus status);
std::optional<JobStatus> ParseStatus(std::string_view text);
// completed, failed and cancelled: nothing will change the job any more.
bool IsFinished(JobStatus status);

// Fields a client may ask for with `fields=`; a bit each. `id` is always present.
enum class Field : std::uint32_t {
  kId = 1u << 0,
  kOwner = 1u << 1,
  kModel = 1u << 2,
  kInputText = 1u << 3,
  kStatus = 1u << 4,
  kPriority = 1u << 5,
  kResultLabel = 1u << 6,
  kResultScore = 1u << 7,
  kError = 1u << 8,
  kMetadata = 1u << 9,
  kAttempts = 1u << 10,
  kMaxAttempts = 1u << 11,
  kRunAfter = 1u << 12,
  kWorker = 1u << 13,
  kCreatedAt = 1u << 14,
  kStartedAt = 1u << 15,
  kCompletedAt = 1u << 16,
  kUpdatedAt = 1u << 17,
  kLeaseExpiresAt = 1u << 18,
};

class FieldSet {
 public:
  static FieldSet All();
  // Everything but the heavy columns (input_text, metadata): the default of lists.
  static FieldSet Light();
  static FieldSet None() { return FieldSet(0); }

  bool Has(Field f) const { return (bits_ & static_cast<std::uint32_t>(f)) != 0; }
  FieldSet With(Field f) const { return FieldSet(bits_ | static_cast<std::uint32_t>(f)); }
  std::uint32_t bits() const { return bits_; }
  bool operator==(const FieldSet&) const = default;

  // Parses a `fields=` list ("id,status,model"); nullopt names the first unknown field
  // through `unknown`.
  static std::optional<FieldSet> Parse(std::string_view list, std::string* unknown);
  // Name of a field in the API and (minus `id`) its column.
  static std::string_view Name(Field f);

 private:
  explicit FieldSet(std::uint32_t bits) : bits_(bits | static_cast<std::uint32_t>(Field::kId)) {}
  std::uint32_t bits_;
};

// A job as read from the store. Heavy columns are empty when the read did not ask for them.
struct Job {
  std::int64_t id = 0;          // internal key; never leaves the service but inside cursors
  std::string uuid;             // public id (job_uuid), UUIDv7 text
  std::string owner;
  std::string model;
  std::optional<std::string> input_text;
  JobStatus status = JobStatus::kPending;
  int priority = 0;
  std::optional<std::string> result_label;
  std::optional<double> result_score;
  std::optional<std::string> error;
  // One valid JSON text, so that responses can copy it unparsed: PostgreSQL's jsonb
  // guarantees it, the SQLite reader checks it.
  std::optional<std::string> metadata;
  int attempts = 0;
  int max_attempts = 3;
  Micros run_after = 0;
  std::optional<std::string> lease_token;
  std::optional<Micros> lease_expires_at;
  std::optional<std::string> worker;
  Micros created_at = 0;
  std::optional<Micros> started_at;
  std::optional<Micros> completed_at;
  Micros updated_at = 0;
  bool archived = false;  // read from ml_jobs_archive (GET /jobs/{id}, include_archived lists)
};

// What the service hands the store to insert: every value already decided (uuid, times).
struct NewJob {
  std::string uuid;
  std::string owner;
  std::string model;
  std::string input_text;
  int priority = 0;
  std::optional<std::string> metadata;  // JSON text, already validated
  int max_attempts = 3;
  Micros created_at = 0;  // also run_after and updated_at
};

}  // namespace mljobs::jobs

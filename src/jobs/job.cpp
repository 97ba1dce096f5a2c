#include "jobs/job.hpp"

#include <array>

namespace mljobs::jobs {
namespace {

constexpr std::array<std::string_view, kStatusCount> kStatusNames = {
    "pending", "running", "completed", "failed", "cancelled"};

struct FieldName {
  Field field;
  std::string_view name;
};

constexpr std::array<FieldName, 19> kFieldNames = {{
    {Field::kId, "id"},
    {Field::kOwner, "owner"},
    {Field::kModel, "model"},
    {Field::kInputText, "input_text"},
    {Field::kStatus, "status"},
    {Field::kPriority, "priority"},
    {Field::kResultLabel, "result_label"},
    {Field::kResultScore, "result_score"},
    {Field::kError, "error"},
    {Field::kMetadata, "metadata"},
    {Field::kAttempts, "attempts"},
    {Field::kMaxAttempts, "max_attempts"},
    {Field::kRunAfter, "run_after"},
    {Field::kWorker, "worker"},
    {Field::kCreatedAt, "created_at"},
    {Field::kStartedAt, "started_at"},
    {Field::kCompletedAt, "completed_at"},
    {Field::kUpdatedAt, "updated_at"},
    {Field::kLeaseExpiresAt, "lease_expires_at"},
}};

}  // namespace

std::string_view ToString(JobStatus status) {
  return kStatusNames[static_cast<std::size_t>(status)];
}

std::optional<JobStatus> ParseStatus(std::string_view text) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == text) return static_cast<JobStatus>(i);
  }
  return std::nullopt;
}

bool IsFinished(JobStatus status) {
  return status == JobStatus::kCompleted || status == JobStatus::kFailed ||
         status == JobStatus::kCancelled;
}

FieldSet FieldSet::All() {
  std::uint32_t bits = 0;
  for (const auto& f : kFieldNames) bits |= static_cast<std::uint32_t>(f.field);
  return FieldSet(bits);
}

FieldSet FieldSet::Light() {
  return FieldSet(All().bits() & ~static_cast<std::uint32_t>(Field::kInputText) &
                  ~static_cast<std::uint32_t>(Field::kMetadata));
}

std::optional<FieldSet> FieldSet::Parse(std::string_view list, std::string* unknown) {
  std::uint32_t bits = 0;
  while (true) {
    std::size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    bool found = false;
    for (const auto& f : kFieldNames) {
      if (f.name == name) {
        bits |= static_cast<std::uint32_t>(f.field);
        found = true;
        break;
      }
    }
    if (!found) {
      if (unknown) *unknown = std::string(name);
      return std::nullopt;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return FieldSet(bits);
}

std::string_view FieldSet::Name(Field f) {
  for (const auto& entry : kFieldNames) {
    if (entry.field == f) return entry.name;
  }
  return {};
}

}  // namespace mljobs::jobs

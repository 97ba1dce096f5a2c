// Bound parameters of one PostgreSQL statement, encoded once for libpq: strings in text
// format, numbers, timestamps and arrays in binary. Plain data; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job.hpp"

namespace mljobs::store::postgres {

// The SQL casts every parameter (`$1::int8`), so no type OIDs travel with the values:
// the server infers them, and the binary encodings here match those casts.
class PgParams {
 public:
  void AddText(std::string_view value);
  void AddNullableText(const std::optional<std::string>& value);
  void AddInt32(std::int32_t value);
  void AddInt64(std::int64_t value);
  // timestamptz from µs since the Unix epoch.
  void AddTimestamp(jobs::Micros value);
  // One-dimensional arrays (text[], int4[], int8[], timestamptz[]) in binary array format, so
  // no element needs quoting or escaping. A null optional is an SQL NULL element.
  void AddTextArray(std::span<const std::optional<std::string_view>> values);
  void AddInt32Array(std::span<const std::int32_t> values);
  void AddInt64Array(std::span<const std::int64_t> values);
  void AddTimestampArray(std::span<const jobs::Micros> values);

  int size() const { return static_cast<int>(values_.size()); }
  bool IsNull(int i) const { return nulls_[i]; }
  const std::string& Value(int i) const { return values_[i]; }
  // 0 text, 1 binary (libpq's paramFormats).
  int Format(int i) const { return formats_[i]; }

 private:
  void Add(std::string bytes, int format, bool is_null = false);

  std::vector<std::string> values_;
  std::vector<int> formats_;
  std::vector<bool> nulls_;
};

// µs between the Unix epoch and PostgreSQL's epoch (2000-01-01), the origin of binary
// timestamps.
inline constexpr std::int64_t kPgEpochOffsetMicros = 946'684'800'000'000;

}  // namespace mljobs::store::postgres

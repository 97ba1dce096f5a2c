#include "store/postgres/pg_params.hpp"

#include <type_traits>

namespace mljobs::store::postgres {
namespace {

// Type OIDs named in binary array headers (pg_type.dat).
constexpr std::uint32_t kInt4Oid = 23;
constexpr std::uint32_t kInt8Oid = 20;
constexpr std::uint32_t kTextOid = 25;
constexpr std::uint32_t kTimestamptzOid = 1184;

// Network byte order, as every binary wire value.
template <typename T>
void PutBigEndian(std::string& out, T value) {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  for (int shift = (sizeof(T) - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((bits >> shift) & 0xff));
  }
}

// Header of a one-dimensional array with lower bound 1.
std::string ArrayHeader(std::uint32_t element_oid, std::size_t count, bool has_nulls) {
  std::string out;
  PutBigEndian<std::int32_t>(out, 1);
  PutBigEndian<std::int32_t>(out, has_nulls ? 1 : 0);
  PutBigEndian<std::uint32_t>(out, element_oid);
  PutBigEndian<std::int32_t>(out, static_cast<std::int32_t>(count));
  PutBigEndian<std::int32_t>(out, 1);
  return out;
}

// A binary array of integers (int4, int8, or timestamptz as µs less `offset`): no nulls,
// each element its length and big-endian value.
template <typename T>
std::string FixedWidthArray(std::uint32_t oid, std::span<const T> values,
                            std::type_identity_t<T> offset) {
  std::string out = ArrayHeader(oid, values.size(), false);
  out.reserve(out.size() + values.size() * (4 + sizeof(T)));
  for (T v : values) {
    PutBigEndian<std::int32_t>(out, static_cast<std::int32_t>(sizeof(T)));
    PutBigEndian<T>(out, static_cast<T>(v - offset));
  }
  return out;
}

}  // namespace

void PgParams::Add(std::string bytes, int format, bool is_null) {
  values_.push_back(std::move(bytes));
  formats_.push_back(format);
  nulls_.push_back(is_null);
}

void PgParams::AddText(std::string_view value) { Add(std::string(value), 0); }

void PgParams::AddNullableText(const std::optional<std::string>& value) {
  if (value) {
    Add(*value, 0);
  } else {
    Add({}, 0, true);
  }
}

void PgParams::AddInt32(std::int32_t value) {
  std::string out;
  PutBigEndian(out, value);
  Add(std::move(out), 1);
}

void PgParams::AddInt64(std::int64_t value) {
  std::string out;
  PutBigEndian(out, value);
  Add(std::move(out), 1);
}

void PgParams::AddTimestamp(jobs::Micros value) { AddInt64(value - kPgEpochOffsetMicros); }

void PgParams::AddTextArray(std::span<const std::optional<std::string_view>> values) {
  bool has_nulls = false;
  std::size_t bytes = 0;
  for (const auto& v : values) {
    has_nulls |= !v.has_value();
    bytes += 4 + (v ? v->size() : 0);
  }
  std::string out = ArrayHeader(kTextOid, values.size(), has_nulls);
  out.reserve(out.size() + bytes);
  for (const auto& v : values) {
    if (!v) {
      PutBigEndian<std::int32_t>(out, -1);
      continue;
    }
    PutBigEndian<std::int32_t>(out, static_cast<std::int32_t>(v->size()));
    out.append(*v);
  }
  Add(std::move(out), 1);
}

void PgParams::AddInt32Array(std::span<const std::int32_t> values) {
  Add(FixedWidthArray(kInt4Oid, values, 0), 1);
}

void PgParams::AddInt64Array(std::span<const std::int64_t> values) {
  Add(FixedWidthArray(kInt8Oid, values, 0), 1);
}

void PgParams::AddTimestampArray(std::span<const jobs::Micros> values) {
  Add(FixedWidthArray(kTimestamptzOid, values, kPgEpochOffsetMicros), 1);
}

}  // namespace mljobs::store::postgres

#include "store/postgres/pg_params.hpp"

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
  std::string out = ArrayHeader(kInt4Oid, values.size(), false);
  out.reserve(out.size() + values.size() * 8);
  for (std::int32_t v : values) {
    PutBigEndian<std::int32_t>(out, 4);
    PutBigEndian(out, v);
  }
  Add(std::move(out), 1);
}

void PgParams::AddInt64Array(std::span<const std::int64_t> values) {
  std::string out = ArrayHeader(kInt8Oid, values.size(), false);
  out.reserve(out.size() + values.size() * 12);
  for (std::int64_t v : values) {
    PutBigEndian<std::int32_t>(out, 8);
    PutBigEndian(out, v);
  }
  Add(std::move(out), 1);
}

void PgParams::AddTimestampArray(std::span<const jobs::Micros> values) {
  std::string out = ArrayHeader(kTimestamptzOid, values.size(), false);
  out.reserve(out.size() + values.size() * 12);
  for (jobs::Micros v : values) {
    PutBigEndian<std::int32_t>(out, 8);
    PutBigEndian<std::int64_t>(out, v - kPgEpochOffsetMicros);
  }
  Add(std::move(out), 1);
}

}  // namespace mljobs::store::postgres

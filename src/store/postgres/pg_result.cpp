#include "store/postgres/pg_result.hpp"

#include <bit>
#include <charconv>
#include <cstdlib>
#include <string>

#include "common/error.hpp"
#include "store/postgres/pg_params.hpp"

namespace mljobs::store::postgres {
namespace {

// Type OIDs the getters decode (pg_type.dat).
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kTimestamptzOid = 1184;
constexpr Oid kJsonbOid = 3802;

std::uint64_t ReadBigEndian(const char* data, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data[i]);
  return v;
}

[[noreturn]] void BadType(const PGresult* r, int col, const char* want) {
  throw Error(ErrorCode::kInternal, std::string("postgresql: column ") + PQfname(r, col) +
                                        " (type oid " + std::to_string(PQftype(r, col)) +
                                        ") read as " + want);
}

}  // namespace

std::int64_t PgResult::AffectedRows() const {
  const char* tuples = PQcmdTuples(result_.get());
  if (tuples == nullptr || *tuples == '\0') return Rows();
  return std::strtoll(tuples, nullptr, 10);
}

std::string_view PgResult::Text(int row, int col) const {
  const char* data = PQgetvalue(result_.get(), row, col);
  std::string_view text(data, static_cast<std::size_t>(PQgetlength(result_.get(), row, col)));
  // Binary jsonb is a format version byte (1) followed by the JSON text.
  if (PQfformat(result_.get(), col) == 1 && PQftype(result_.get(), col) == kJsonbOid &&
      !text.empty()) {
    text.remove_prefix(1);
  }
  return text;
}

std::int64_t PgResult::Int(int row, int col) const {
  const char* data = PQgetvalue(result_.get(), row, col);
  if (PQfformat(result_.get(), col) == 0) {
    std::int64_t v = 0;
    std::string_view text = Text(row, col);
    if (std::from_chars(text.data(), text.data() + text.size(), v).ec != std::errc()) {
      BadType(result_.get(), col, "integer");
    }
    return v;
  }
  switch (PQftype(result_.get(), col)) {
    case kInt8Oid:
      return static_cast<std::int64_t>(ReadBigEndian(data, 8));
    case kInt4Oid:
      return static_cast<std::int32_t>(ReadBigEndian(data, 4));
    case kInt2Oid:
      return static_cast<std::int16_t>(ReadBigEndian(data, 2));
    default:
      BadType(result_.get(), col, "integer");
  }
}

double PgResult::Double(int row, int col) const {
  const char* data = PQgetvalue(result_.get(), row, col);
  if (PQfformat(result_.get(), col) == 0) return std::strtod(data, nullptr);
  switch (PQftype(result_.get(), col)) {
    case kFloat8Oid:
      return std::bit_cast<double>(ReadBigEndian(data, 8));
    case kFloat4Oid:
      return std::bit_cast<float>(static_cast<std::uint32_t>(ReadBigEndian(data, 4)));
    case kInt8Oid:
    case kInt4Oid:
    case kInt2Oid:
      return static_cast<double>(Int(row, col));
    default:
      BadType(result_.get(), col, "float");
  }
}

jobs::Micros PgResult::Timestamp(int row, int col) const {
  Oid type = PQftype(result_.get(), col);
  if (PQfformat(result_.get(), col) != 1 || type != kTimestamptzOid) {
    BadType(result_.get(), col, "binary timestamptz");
  }
  auto pg_micros = static_cast<std::int64_t>(ReadBigEndian(PQgetvalue(result_.get(), row, col), 8));
  return pg_micros + kPgEpochOffsetMicros;
}

}  // namespace mljobs::store::postgres

// PgResult: owns one libpq PGresult and reads its cells with typed getters that decode
// both binary (the store's statements) and text results. Plain data; any thread.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "jobs/job.hpp"

namespace mljobs::store::postgres {

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* result) : result_(result) {}

  explicit operator bool() const { return result_ != nullptr; }
  const PGresult* get() const { return result_.get(); }
  ExecStatusType Status() const { return PQresultStatus(result_.get()); }

  int Rows() const { return PQntuples(result_.get()); }
  // Column number of `name`, or -1 when the result has no such column.
  int Column(const char* name) const { return PQfnumber(result_.get(), name); }
  // Rows a command touched (INSERT/UPDATE/DELETE/FETCH), else the rows returned.
  std::int64_t AffectedRows() const;

  bool IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  // text, varchar, name, jsonb (its binary version byte skipped).
  std::string_view Text(int row, int col) const;
  // int2, int4, int8.
  std::int64_t Int(int row, int col) const;
  // float4, float8; integers widen.
  double Double(int row, int col) const;
  // timestamptz as µs since the Unix epoch.
  jobs::Micros Timestamp(int row, int col) const;

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> result_;
};

}  // namespace mljobs::store::postgres

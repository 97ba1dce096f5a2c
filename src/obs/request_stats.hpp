// Per-request record of the SQL a request ran: how many statements and how long the
// database took. Stores fill it; the HTTP session turns it into X-DB-Statements and
// Server-Timing. One request is one coroutine chain, so no locking is needed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace mljobs::obs {

class RequestStats {
 public:
  // Called by a store once per SQL statement it ran (also feeds the process-wide
  // statement registry: counts, latency, slow log).
  void RecordStatement(std::string_view name, std::chrono::nanoseconds elapsed,
                       std::int64_t rows);

  // Statements this request shared with others (a group commit of several requests):
  // counted for this request; whoever ran them recorded them in the registry once.
  void AddShared(int statements, std::chrono::nanoseconds elapsed) {
    statements_ += statements;
    db_time_ += elapsed;
  }

  int statements() const { return statements_; }
  std::chrono::nanoseconds db_time() const { return db_time_; }

 private:
  int statements_ = 0;
  std::chrono::nanoseconds db_time_{0};
};

}  // namespace mljobs::obs

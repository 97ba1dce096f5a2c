// PgBulkLoad: jobs::BulkLoadStore for PostgreSQL, by COPY ... FROM STDIN in binary format
// on a dedicated blocking libpq connection. For `mljobs seed` on its own thread only:
// blocking is fine there (no server io thread runs it) and keeps the COPY stream simple.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jobs/bulk_load_store.hpp"
#include "jobs/counter_tally.hpp"

typedef struct pg_conn PGconn;

namespace mljobs::store::postgres {

namespace asio = boost::asio;

struct PgStatement;

class PgBulkLoad final : public jobs::BulkLoadStore {
 public:
  // Connects on Begin, not here (a server that never seeds opens no extra connection).
  explicit PgBulkLoad(std::string url) : url_(std::move(url)) {}
  // Closing the connection rolls back a load that was not finished.
  ~PgBulkLoad() override;
  PgBulkLoad(const PgBulkLoad&) = delete;
  PgBulkLoad& operator=(const PgBulkLoad&) = delete;

  asio::awaitable<bool> Begin(obs::RequestStats& stats) override;
  asio::awaitable<void> Append(obs::RequestStats& stats, std::span<const jobs::Job> rows) override;
  asio::awaitable<std::int64_t> Finish(obs::RequestStats& stats,
                                       const jobs::BulkLoadPhaseFn& on_phase) override;

 private:
  // One statement with text parameters (PQexecParams; none: PQexec); throws the mapped
  // Error on failure. Returns its result's rows, each value as text.
  std::vector<std::vector<std::string>> Exec(obs::RequestStats& stats, std::string_view name,
                                             const std::string& sql,
                                             const std::vector<std::string>& params = {});
  std::vector<std::vector<std::string>> Exec(obs::RequestStats& stats,
                                             const PgStatement& statement);
  // The work of Begin, Append and Finish, which abandon the load when these throw.
  bool BeginLoad(obs::RequestStats& stats);
  void AppendRows(std::span<const jobs::Job> rows);
  std::int64_t FinishLoad(obs::RequestStats& stats, const jobs::BulkLoadPhaseFn& on_phase);
  void AddCounters(obs::RequestStats& stats);
  void Close();

  const std::string url_;
  PGconn* conn_ = nullptr;  // open from Begin to the end of Finish
  std::int64_t rows_ = 0;
  std::string last_id_before_;  // max(id) before the COPY: the loaded rows are above it
  // Secondary indexes dropped by Begin: (name, CREATE INDEX statement from pg_get_indexdef).
  std::vector<std::pair<std::string, std::string>> dropped_indexes_;
  std::string_view copy_name_;  // the COPY statement Begin started
  std::string buffer_;          // one COPY message being encoded
  std::optional<jobs::CounterTally> tally_;  // what the appended rows add to the counters
};

}  // namespace mljobs::store::postgres

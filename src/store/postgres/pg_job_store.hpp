// PgJobStore: the PostgreSQL implementation of jobs::JobStore (libpq non-blocking under
// Asio, prepared statements, a bounded pool). Thread-safe: its coroutines may run
// concurrently on any thread of the executor it was made with.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "jobs/job_store.hpp"
#include "store/postgres/pg_pool.hpp"
#include "store/store_options.hpp"

namespace mljobs::store::postgres {

namespace asio = boost::asio;

class PgJobStore final : public jobs::JobStore {
 public:
  // Runs its statements on connections from `pool`, which must outlive it (PgBackend owns
  // both). Must outlive every call in flight.
  explicit PgJobStore(PgPool& pool) : pool_(pool) {}

  std::string_view Backend() const override { return "postgresql"; }
  asio::awaitable<void> Migrate() override;
  asio::awaitable<std::string> ServerSecret(obs::RequestStats& stats) override;
  asio::awaitable<jobs::Job> Insert(obs::RequestStats& stats, const jobs::NewJob& job) override;
  asio::awaitable<void> InsertBatch(obs::RequestStats& stats,
                                    std::span<const jobs::NewJob> jobs) override;
  asio::awaitable<std::optional<jobs::Job>> Get(obs::RequestStats& stats, std::string_view uuid,
                                                const std::optional<std::string>& owner) override;
  asio::awaitable<jobs::CancelResult> Cancel(obs::RequestStats& stats, std::string_view uuid,
                                             const std::optional<std::string>& owner,
                                             jobs::Micros now) override;
  asio::awaitable<jobs::Page> List(obs::RequestStats& stats, const jobs::ListQuery& query) override;
  asio::awaitable<jobs::CountResult> Count(obs::RequestStats& stats, const jobs::JobFilter& filter,
                                           bool estimated) override;
  asio::awaitable<void> Export(obs::RequestStats& stats, const jobs::JobFilter& filter,
                               jobs::SortOrder order, jobs::FieldSet fields, int chunk_rows,
                               const jobs::ExportSink& sink) override;
  asio::awaitable<void> Ping(obs::RequestStats& stats) override;

 private:
  PgPool& pool_;
};

}  // namespace mljobs::store::postgres

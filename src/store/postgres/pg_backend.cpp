#include "store/postgres/pg_backend.hpp"

#include "store/postgres/pg_archive_store.hpp"
#include "store/postgres/pg_admin_store.hpp"
#include "store/postgres/pg_bulk_load.hpp"
#include "store/postgres/pg_job_store.hpp"
#include "store/postgres/pg_pool.hpp"
#include "store/postgres/pg_stats_store.hpp"
#include "store/postgres/pg_queue_store.hpp"
#include "store/postgres/pg_token_store.hpp"

namespace mljobs::store::postgres {
namespace {

class PgBackend final : public Backend {
 public:
  PgBackend(std::string url, asio::any_io_executor ex, const StoreOptions& options)
      : pool_(std::move(url), std::move(ex), options), jobs_(pool_), stats_(pool_), archive_(pool_), queue_(pool_, pool_.url(), options.max_claim_waiters), tokens_(pool_), admin_(pool_), bulk_load_(pool_.url()) {}

  std::string_view name() const override { return "postgresql"; }
  jobs::JobStore& jobs() override { return jobs_; }
  jobs::StatsStore& stats() override { return stats_; }
  jobs::ArchiveStore& archive() override { return archive_; }
  jobs::QueueStore& queue() override { return queue_; }
  jobs::TokenStore& tokens() override { return tokens_; }
  jobs::AdminStore& admin() override { return admin_; }
  jobs::BulkLoadStore& bulk_load() override { return bulk_load_; }

 private:
  PgPool pool_;  // first member: outlives the stores that use it
  PgJobStore jobs_;
  PgStatsStore stats_;
  PgArchiveStore archive_;
  PgQueueStore queue_;
  PgTokenStore tokens_;
  PgAdminStore admin_;
  PgBulkLoad bulk_load_;
};

}  // namespace

std::unique_ptr<Backend> MakePgBackend(std::string url, boost::asio::any_io_executor ex,
                                       const StoreOptions& options) {
  return std::make_unique<PgBackend>(std::move(url), std::move(ex), options);
}

}  // namespace mljobs::store::postgres

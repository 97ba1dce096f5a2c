#include "store/sqlite/sqlite_backend.hpp"

#include "store/sqlite/sqlite_archive_store.hpp"
#include "store/sqlite/sqlite_admin_store.hpp"
#include "store/sqlite/sqlite_bulk_load.hpp"
#include "store/sqlite/sqlite_database.hpp"
#include "store/sqlite/sqlite_job_store.hpp"
#include "store/sqlite/sqlite_stats_store.hpp"
#include "store/sqlite/sqlite_queue_store.hpp"
#include "store/sqlite/sqlite_token_store.hpp"

namespace mljobs::store::sqlite {
namespace {

class SqliteBackend final : public Backend {
 public:
  SqliteBackend(std::string path, const StoreOptions& options)
      : db_(std::move(path), options), jobs_(db_), stats_(db_), archive_(db_), queue_(db_), tokens_(db_), admin_(db_), bulk_load_(db_) {}

  std::string_view name() const override { return "sqlite"; }
  jobs::JobStore& jobs() override { return jobs_; }
  jobs::StatsStore& stats() override { return stats_; }
  jobs::ArchiveStore& archive() override { return archive_; }
  jobs::QueueStore& queue() override { return queue_; }
  jobs::TokenStore& tokens() override { return tokens_; }
  jobs::AdminStore& admin() override { return admin_; }
  jobs::BulkLoadStore& bulk_load() override { return bulk_load_; }

 private:
  SqliteDatabase db_;  // first member: outlives the stores that use it
  SqliteJobStore jobs_;
  SqliteStatsStore stats_;
  SqliteArchiveStore archive_;
  SqliteQueueStore queue_;
  SqliteTokenStore tokens_;
  SqliteAdminStore admin_;
  SqliteBulkLoad bulk_load_;
};

}  // namespace

std::unique_ptr<Backend> MakeSqliteBackend(std::string path, const StoreOptions& options) {
  return std::make_unique<SqliteBackend>(std::move(path), options);
}

}  // namespace mljobs::store::sqlite

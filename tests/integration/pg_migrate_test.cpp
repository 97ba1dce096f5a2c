// PostgreSQL migrations: recorded in schema_migrations, idempotent, and applied exactly
// once when several servers migrate the same database at the same time. Real PostgreSQL.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <thread>

#include "store/postgres/pg_job_store.hpp"
#include "store/postgres/pg_migrator.hpp"
#include "support/pg_pooled_store.hpp"
#include "support/run_sync.hpp"
#include "support/test_backends.hpp"

namespace mljobs::store::postgres {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::TestDatabase;

class PgMigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = testing::BackendUnavailable(testing::kPostgresqlBackend)) GTEST_SKIP() << *why;
    db_ = std::make_unique<TestDatabase>(testing::kPostgresqlBackend);
  }

  std::string Applied() {
    std::string out;
    for (const auto& row : db_->Query("SELECT version, name FROM schema_migrations ORDER BY 1")) {
      out += *row[0] + " " + *row[1] + ";";
    }
    return out;
  }

  std::string Expected() {
    std::string out;
    for (const store::Migration& m : Migrations()) {
      out += std::to_string(m.version) + " " + std::string(m.name) + ";";
    }
    return out;
  }

  std::unique_ptr<TestDatabase> db_;
};

TEST_F(PgMigrateTest, RecordsEachMigrationAndIsIdempotent) {
  ASSERT_FALSE(Migrations().empty());
  EXPECT_EQ(Migrations().front().version, 1);
  asio::io_context io;
  testing::PooledStore store(db_->url(), io.get_executor(), StoreOptions{});
  testing::RunSync(io, store->Migrate());
  EXPECT_EQ(Applied(), Expected());
  std::string secret = *db_->Query("SELECT value FROM mljobs_meta")[0][0];
  testing::RunSync(io, store->Migrate());
  EXPECT_EQ(Applied(), Expected());
  // Not re-run: the secret that signs cursors survives.
  EXPECT_EQ(*db_->Query("SELECT value FROM mljobs_meta")[0][0], secret);
}

TEST_F(PgMigrateTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  constexpr int kStores = 6;
  asio::thread_pool threads(4);
  std::vector<std::unique_ptr<testing::PooledStore>> stores;
  for (int i = 0; i < kStores; ++i) {
    stores.push_back(
        std::make_unique<testing::PooledStore>(db_->url(), threads.get_executor(), StoreOptions{}));
  }
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  for (auto& store : stores) {
    asio::co_spawn(threads, (*store)->Migrate(),
                   [&](std::exception_ptr e) { ++(e ? failed : ok); });
  }
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (ok + failed < kStores && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(ok, kStores);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(Applied(), Expected());
  EXPECT_EQ(*db_->Query("SELECT count(*) FROM mljobs_meta")[0][0], "1");
  stores.clear();
}

}  // namespace
}  // namespace mljobs::store::postgres

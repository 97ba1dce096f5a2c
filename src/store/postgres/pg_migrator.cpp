#include "store/postgres/pg_migrator.hpp"

#include "obs/request_stats.hpp"
#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {
namespace {

// Serialises migrators; released by the COMMIT that ends each migration's transaction.
constexpr std::string_view kLockAndCreate =
    "BEGIN; "
    "SELECT pg_advisory_xact_lock(hashtext('mljobs_migrate')); "
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version integer PRIMARY KEY,"
    "  name text NOT NULL,"
    "  applied_at timestamptz NOT NULL DEFAULT now())";

constexpr PgStatement kMigrationApplied{"migration_applied",
                                        "SELECT 1 FROM schema_migrations WHERE version = $1::int4"};
constexpr PgStatement kRecordMigration{
    "record_migration",
    "INSERT INTO schema_migrations (version, name) VALUES ($1::int4, $2::text)"};

}  // namespace

asio::awaitable<void> ApplyMigrations(PgConnection& conn) {
  // Not part of any request; the statements still reach the process-wide registry.
  obs::RequestStats stats;
  for (const store::Migration& migration : Migrations()) {
    co_await conn.RunScript(kLockAndCreate);
    PgParams version;
    version.AddInt32(migration.version);
    PgResult applied = co_await conn.Run(
        stats, PgCommand{kMigrationApplied.name, kMigrationApplied.sql, &version, false});
    if (applied.Rows() == 0) {
      co_await conn.RunScript(migration.sql);
      PgParams record;
      record.AddInt32(migration.version);
      record.AddText(migration.name);
      co_await conn.Run(stats,
                        PgCommand{kRecordMigration.name, kRecordMigration.sql, &record, false});
    }
    co_await conn.RunScript("COMMIT");
  }
}

}  // namespace mljobs::store::postgres

#include "store/sqlite/sqlite_migrator.hpp"

#include <chrono>
#include <string>

#include "store/sqlite/sqlite_statements.hpp"

namespace mljobs::store::sqlite {
namespace {

std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsApplied(Connection& connection, int version) {
  Statement statement = connection.Prepare(kMigrationApplied.sql());
  statement.BindInt64(":version", version);
  return statement.Step();
}

}  // namespace

void ApplyMigrations(Connection& connection, std::span<const store::Migration> migrations) {
  connection.Exec(std::string(kCreateSchemaMigrations.sql()));
  for (const store::Migration& migration : migrations) {
    // Checked inside the transaction: another process may have applied it meanwhile.
    Transaction transaction(connection);
    if (IsApplied(connection, migration.version)) continue;
    connection.Exec(std::string(migration.sql));
    Statement record = connection.Prepare(kRecordMigration.sql());
    record.BindInt64(":version", migration.version);
    record.BindText(":name", migration.name);
    record.BindInt64(":applied_at", NowMicros());
    record.Step();
    transaction.Commit();
  }
}

}  // namespace mljobs::store::sqlite

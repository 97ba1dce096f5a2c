// Applies the SQLite schema migrations. Runs on the store's writer thread (it writes).
#pragma once

#include <span>

#include "store/migration.hpp"
#include "store/sqlite/sqlite_connection.hpp"

namespace mljobs::store::sqlite {

// Applies each migration not yet in schema_migrations, in order, one transaction each
// (BEGIN IMMEDIATE, so a second process migrating at the same time waits, then finds the
// version recorded and skips it). Idempotent. Throws Error.
void ApplyMigrations(Connection& connection, std::span<const store::Migration> migrations);

}  // namespace mljobs::store::sqlite

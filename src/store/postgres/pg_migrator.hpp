// Schema migrations of the PostgreSQL backend: the numbered migrations/*.sql compiled into
// the binary, and applying the pending ones. Called by the coroutine holding `conn`.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <span>

#include "store/migration.hpp"
#include "store/postgres/pg_connection.hpp"

namespace mljobs::store::postgres {

// Defined in the .cpp that cmake/EmbedMigrations.cmake generates from migrations/*.sql.
std::span<const store::Migration> Migrations();

// Applies each migration not yet in schema_migrations, in version order, each in its own
// transaction under a transaction-scoped advisory lock, so concurrent migrators (several
// servers starting at once) apply each exactly once. Throws on the first failure, which
// leaves `conn` mid-transaction (its pool lease then discards it).
asio::awaitable<void> ApplyMigrations(PgConnection& conn);

}  // namespace mljobs::store::postgres

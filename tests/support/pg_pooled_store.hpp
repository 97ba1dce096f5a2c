// A PostgreSQL job store on a pool of its own, as PgBackend builds one, for tests that
// need the pool's counters or the concrete store.
#pragma once

#include <string>

#include "store/postgres/pg_job_store.hpp"
#include "store/postgres/pg_pool.hpp"

namespace mljobs::testing {

struct PooledStore {
  PooledStore(std::string url, boost::asio::any_io_executor ex,
              const store::StoreOptions& options = {})
      : pool(std::move(url), std::move(ex), options), store(pool) {}
  store::postgres::PgJobStore* operator->() { return &store; }
  store::postgres::PgPoolStats PoolStats() const { return pool.Stats(); }

  store::postgres::PgPool pool;
  store::postgres::PgJobStore store;
};

}  // namespace mljobs::testing

// One database and every store over it. A backend owns what its stores share (the
// PostgreSQL pool, the SQLite threads and connections) and the stores themselves; each
// feature's store interface lives in jobs/ and gets one accessor here.
#pragma once

#include <string_view>

#include "jobs/admin_store.hpp"
#include "jobs/bulk_load_store.hpp"
#include "jobs/job_store.hpp"
#include "jobs/stats_store.hpp"
#include "jobs/archive_store.hpp"
#include "jobs/queue_store.hpp"
#include "jobs/token_store.hpp"

namespace mljobs::store {

class Backend {
 public:
  virtual ~Backend() = default;

  // "postgresql" or "sqlite".
  virtual std::string_view name() const = 0;

  virtual jobs::JobStore& jobs() = 0;
  virtual jobs::StatsStore& stats() = 0;
  virtual jobs::ArchiveStore& archive() = 0;
  virtual jobs::BulkLoadStore& bulk_load() = 0;
  virtual jobs::QueueStore& queue() = 0;
  virtual jobs::TokenStore& tokens() = 0;
  virtual jobs::AdminStore& admin() = 0;
};

}  // namespace mljobs::store

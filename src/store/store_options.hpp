// Bounds every backend honours: connection pool size and timeouts.
#pragma once

#include <chrono>

namespace mljobs::store {

struct StoreOptions {
  // PostgreSQL connection pool bounds; SQLite uses pool_size for its reader connections.
  int pool_size = 8;
  std::chrono::milliseconds acquire_timeout{2000};
  std::chrono::seconds recycle_after{600};  // a connection older than this is replaced
  std::chrono::milliseconds connect_timeout{3000};
};

}  // namespace mljobs::store

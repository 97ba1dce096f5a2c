// Bounds every backend honours: connection pool size and timeouts.
#pragma once

#include <chrono>
#include <cstddef>

namespace mljobs::store {

struct StoreOptions {
  // PostgreSQL connection pool bounds; SQLite uses pool_size for its reader connections.
  int pool_size = 8;
  std::chrono::milliseconds acquire_timeout{2000};
  std::chrono::seconds recycle_after{600};  // a connection older than this is replaced
  std::chrono::milliseconds connect_timeout{3000};
  // Claims long-polling (wait_seconds) at once per process; past it a claim answers 503
  // too_many_waiters, so memory and wake-up cost stay bounded.
  std::size_t max_claim_waiters = 1000;
};

}  // namespace mljobs::store

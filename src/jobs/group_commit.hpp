// Group commit: requests that arrive while a write is under way wait, and are then written
// together by one store call; each caller still gets its own answer. The engine of
// ClaimBatcher and CompletionBatcher; its member definitions are in group_commit_impl.hpp.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "obs/request_stats.hpp"

namespace mljobs::jobs {

namespace asio = boost::asio;

// What /metrics shows of a group writer. Counted in units: what a request weighs (a
// completion each, for example), not requests.
struct GroupCommitStats {
  std::size_t waiting = 0;    // units queued for the next write
  std::size_t writing = 0;    // units in the write under way
  std::uint64_t writes = 0;   // writes finished (each one store call)
  std::uint64_t written = 0;  // units those writes carried
};

template <typename Request, typename Result>
class GroupCommit {
 public:
  // A queued request and what it weighs.
  struct Queued {
    const Request* request;
    std::size_t units;
  };
  // Chooses the requests of the next write from the queue (in arrival order): their
  // positions, ascending. The first is written whatever it chooses.
  using Pick = std::function<std::vector<std::size_t>(const std::vector<Queued>&)>;
  // Writes the chosen requests with one store call, recording its statements in the
  // RequestStats; answers one Result per request, in order.
  using Write = std::function<asio::awaitable<std::vector<Result>>(
      obs::RequestStats&, const std::vector<const Request*>&)>;

  // At most `max_units` wait for a write; past it, callers get 503 with the code
  // "too_many_<what>" (what: "claims", say).
  GroupCommit(Pick pick, Write write, std::size_t max_units, std::string what)
      : pick_(std::move(pick)),
        write_(std::move(write)),
        max_units_(max_units),
        what_(std::move(what)) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Writes `request` with whatever else is waiting. An idle writer starts at once, so a
  // lone caller waits for no one; under load a caller waits for at most the write under
  // way, then shares the next. The shared statements count in `stats`. Thread-safe.
  asio::awaitable<Result> Submit(obs::RequestStats& stats, Request request, std::size_t units);

  GroupCommitStats Stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

 private:
  struct Waiter;

  // Writes queued requests, write after write, until none is left.
  asio::awaitable<void> Flush();

  const Pick pick_;
  const Write write_;
  const std::size_t max_units_;
  const std::string what_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Waiter>> queued_;  // guarded by mu_, in arrival order
  bool flushing_ = false;                        // guarded by mu_: a Flush is running
  GroupCommitStats stats_;                       // guarded by mu_
};

}  // namespace mljobs::jobs

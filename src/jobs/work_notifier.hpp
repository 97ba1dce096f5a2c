// WorkNotifier: wakes long-polling claims when new work may have arrived, instead of each
// idle worker polling the database. Thread-safe: Notify from any thread (a listener thread,
// a store's writer thread); Wait from coroutines on any executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>

namespace mljobs::jobs {

namespace asio = boost::asio;

class WorkNotifier {
 public:
  enum class WaitResult { kNotified, kTimedOut, kShutDown };

  explicit WorkNotifier(std::size_t max_waiters) : max_waiters_(max_waiters) {}
  WorkNotifier(const WorkNotifier&) = delete;
  WorkNotifier& operator=(const WorkNotifier&) = delete;

  // Counts notifications. Read it before looking for work and pass it to Wait, so that a
  // Notify between the look and the Wait is not lost.
  std::uint64_t Generation() const;

  // Wakes every waiter.
  void Notify();

  // Wakes every waiter and makes later waits return kShutDown at once (server stopping).
  void Shutdown();

  // Returns kNotified as soon as the generation differs from `seen`, kTimedOut at
  // `deadline`. Throws Error(kUnavailable, ..., "too_many_waiters") when max_waiters
  // coroutines already wait: memory and wake-up cost stay bounded.
  asio::awaitable<WaitResult> Wait(std::uint64_t seen,
                                   std::chrono::steady_clock::time_point deadline);

  std::size_t Waiters() const;

 private:
  struct Waiter;

  const std::size_t max_waiters_;
  mutable std::mutex mu_;
  // Every timer operation (wait, cancel, expiry change) happens under mu_, so a Notify
  // on another thread never touches a timer concurrently with its waiter.
  std::list<Waiter*> waiters_;  // guarded by mu_
  std::uint64_t generation_ = 0;  // guarded by mu_
  bool shut_down_ = false;        // guarded by mu_
};

}  // namespace mljobs::jobs

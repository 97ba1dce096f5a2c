// PgListener: one dedicated connection outside the pool that LISTENs on the new-jobs
// channel and turns each notification into WorkNotifier::Notify. It runs on a thread of its
// own (blocking libpq, woken by a pipe to stop), reconnecting after an outage, so no io
// thread and no pool connection is held by an idle LISTEN.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "jobs/work_notifier.hpp"

namespace mljobs::store::postgres {

class PgListener {
 public:
  // Starts the thread; it connects (and reconnects) in the background.
  PgListener(std::string url, jobs::WorkNotifier& notifier);
  // Stops and joins the thread (bounded by the connect timeout of an attempt in flight).
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

 private:
  void Run();
  // One connection's life: connect, LISTEN, relay notifications until it breaks or stops.
  void ListenOnce();
  // Sleeps up to `ms` unless stopped; false when stopped.
  bool Pause(int ms);

  const std::string url_;
  jobs::WorkNotifier& notifier_;
  int stop_pipe_[2] = {-1, -1};  // a byte on [1] wakes poll() on [0]
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace mljobs::store::postgres

// Member definitions of GroupCommit, for the few .cpp files that instantiate it (they pull
// in Asio's timers and co_spawn, which the widely included group_commit.hpp keeps out).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>

#include "common/error.hpp"
#include "jobs/group_commit.hpp"

namespace mljobs::jobs {

template <typename Request, typename Result>
struct GroupCommit<Request, Result>::Waiter {
  Request request;
  std::size_t units = 0;
  // Written by Flush under mu_ before the caller is resumed.
  bool done = false;
  Result result{};
  std::exception_ptr error;
  int statements = 0;
  std::chrono::nanoseconds db_time{0};
  // The caller sleeps on it until Flush cancels it. Every operation on it happens under
  // mu_ (as in WorkNotifier), so Flush on another thread never races the caller's wait.
  asio::steady_timer wake;

  Waiter(const asio::any_io_executor& executor, Request r, std::size_t u)
      : request(std::move(r)),
        units(u),
        wake(executor, std::chrono::steady_clock::time_point::max()) {}
};

template <typename Request, typename Result>
asio::awaitable<Result> GroupCommit<Request, Result>::Submit(obs::RequestStats& stats,
                                                             Request request, std::size_t units) {
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto waiter = std::make_shared<Waiter>(executor, std::move(request), units);
  bool start_flush = false;
  {
    std::lock_guard lock(mu_);
    if (stats_.waiting + units > max_units_) {
      throw Error(ErrorCode::kUnavailable,
                  "too many " + what_ + " are waiting to be written; retry later",
                  "too_many_" + what_);
    }
    queued_.push_back(waiter);
    stats_.waiting += units;
    start_flush = !flushing_;
    flushing_ = true;
  }
  // The lambda itself, not a coroutine object built here: GCC 12 mishandles temporaries
  // inside co_await expressions.
  if (start_flush)
    asio::co_spawn(
        executor, [this] { return Flush(); }, asio::detached);
  auto token = asio::as_tuple(asio::use_awaitable);
  co_await asio::async_initiate<decltype(token), void(boost::system::error_code)>(
      [&](auto handler) {
        std::lock_guard lock(mu_);
        // Already written: the wait completes at once (through the executor).
        if (waiter->done) waiter->wake.expires_at(std::chrono::steady_clock::time_point::min());
        waiter->wake.async_wait(std::move(handler));
      },
      token);
  stats.AddShared(waiter->statements, waiter->db_time);
  if (waiter->error) std::rethrow_exception(waiter->error);
  co_return std::move(waiter->result);
}

template <typename Request, typename Result>
asio::awaitable<void> GroupCommit<Request, Result>::Flush() {
  while (true) {
    std::vector<std::shared_ptr<Waiter>> batch;
    std::vector<const Request*> requests;
    {
      std::lock_guard lock(mu_);
      if (queued_.empty()) {
        flushing_ = false;
        co_return;
      }
      std::vector<Queued> queued;
      queued.reserve(queued_.size());
      for (const auto& waiter : queued_) queued.push_back({&waiter->request, waiter->units});
      std::vector<std::size_t> chosen = pick_(queued);
      // The first always goes, so that every request is written in the end.
      if (chosen.empty() || chosen.front() != 0) chosen.insert(chosen.begin(), 0);
      std::vector<std::shared_ptr<Waiter>> rest;
      std::size_t next = 0;
      for (std::size_t i = 0; i < queued_.size(); ++i) {
        if (next < chosen.size() && chosen[next] == i) {
          ++next;
          stats_.waiting -= queued_[i]->units;
          stats_.writing += queued_[i]->units;
          requests.push_back(&queued_[i]->request);
          batch.push_back(std::move(queued_[i]));
        } else {
          rest.push_back(std::move(queued_[i]));
        }
      }
      queued_ = std::move(rest);
    }

    obs::RequestStats stats;
    std::vector<Result> results;
    std::exception_ptr error;
    try {
      results = co_await write_(stats, requests);
      if (results.size() != batch.size()) {
        throw Error(ErrorCode::kInternal, "the store answered a different number of requests");
      }
    } catch (...) {
      // Every caller of this write gets the failure (an outage: 503), none is dropped.
      error = std::current_exception();
    }
    std::lock_guard lock(mu_);
    stats_.writing = 0;
    ++stats_.writes;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Waiter& waiter = *batch[i];
      stats_.written += waiter.units;
      waiter.done = true;
      waiter.error = error;
      if (!error) waiter.result = std::move(results[i]);
      waiter.statements = stats.statements();
      waiter.db_time = stats.db_time();
      waiter.wake.cancel();
    }
  }
}

}  // namespace mljobs::jobs

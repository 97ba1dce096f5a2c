#include "jobs/completion_batcher.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <set>
#include <string_view>

#include "common/error.hpp"
#include "jobs/queue_service.hpp"
#include "jobs/time_format.hpp"

namespace mljobs::jobs {

struct CompletionBatcher::Waiter {
  Completion completion;
  // Written by Flush under mu_ before the caller is resumed.
  bool done = false;
  LeaseResult result;
  std::exception_ptr error;
  int statements = 0;
  std::chrono::nanoseconds db_time{0};
  // The caller sleeps on it until Flush cancels it. Every operation on it happens under
  // mu_ (as in WorkNotifier), so Flush on another thread never races the caller's wait.
  asio::steady_timer wake;

  explicit Waiter(const asio::any_io_executor& executor)
      : wake(executor, std::chrono::steady_clock::time_point::max()) {}
};

asio::awaitable<LeaseResult> CompletionBatcher::Complete(obs::RequestStats& stats,
                                                         Completion completion) {
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto waiter = std::make_shared<Waiter>(executor);
  waiter->completion = std::move(completion);
  bool start_flush = false;
  {
    std::lock_guard lock(mu_);
    if (queued_.size() >= max_queued_) {
      throw Error(ErrorCode::kUnavailable,
                  "too many completions are waiting to be written; retry later",
                  "too_many_completions");
    }
    queued_.push_back(waiter);
    start_flush = !flushing_;
    flushing_ = true;
  }
  if (start_flush) asio::co_spawn(executor, Flush(), asio::detached);
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

CompletionBatcherStats CompletionBatcher::Stats() const {
  std::lock_guard lock(mu_);
  CompletionBatcherStats out = stats_;
  out.waiting = queued_.size();
  return out;
}

std::vector<std::shared_ptr<CompletionBatcher::Waiter>> CompletionBatcher::TakeBatch() {
  std::vector<std::shared_ptr<Waiter>> batch, rest;
  std::set<std::string_view> ids;
  for (auto& waiter : queued_) {
    if (batch.size() < kMaxCompleteBatch && ids.insert(waiter->completion.uuid).second) {
      batch.push_back(std::move(waiter));
    } else {
      rest.push_back(std::move(waiter));
    }
  }
  queued_ = std::move(rest);
  return batch;
}

asio::awaitable<void> CompletionBatcher::Flush() {
  while (true) {
    std::vector<std::shared_ptr<Waiter>> batch;
    {
      std::lock_guard lock(mu_);
      if (queued_.empty()) {
        flushing_ = false;
        co_return;
      }
      batch = TakeBatch();
      stats_.writing = batch.size();
    }
    std::vector<Completion> completions;
    completions.reserve(batch.size());
    for (const auto& waiter : batch) completions.push_back(waiter->completion);

    obs::RequestStats stats;
    std::vector<LeaseResult> results;
    std::exception_ptr error;
    try {
      results = co_await store_.CompleteBatch(stats, completions, NowMicros(), true);
      if (results.size() != batch.size()) {
        throw Error(ErrorCode::kInternal, "the store answered a different number of completions");
      }
    } catch (...) {
      // Every caller of this batch gets the failure (an outage: 503), none is dropped.
      error = std::current_exception();
    }
    std::lock_guard lock(mu_);
    stats_.writing = 0;
    ++stats_.writes;
    stats_.written += batch.size();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Waiter& waiter = *batch[i];
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

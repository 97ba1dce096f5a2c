#include "jobs/work_notifier.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/error.hpp"

namespace mljobs::jobs {

struct WorkNotifier::Waiter {
  asio::steady_timer timer;
  bool woken = false;  // guarded by WorkNotifier::mu_
};

std::uint64_t WorkNotifier::Generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

void WorkNotifier::Notify() {
  std::lock_guard lock(mu_);
  ++generation_;
  for (Waiter* waiter : waiters_) {
    waiter->woken = true;
    waiter->timer.cancel();
  }
}

void WorkNotifier::Shutdown() {
  std::lock_guard lock(mu_);
  shut_down_ = true;
  for (Waiter* waiter : waiters_) {
    waiter->woken = true;
    waiter->timer.cancel();
  }
}

std::size_t WorkNotifier::Waiters() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

asio::awaitable<WorkNotifier::WaitResult> WorkNotifier::Wait(
    std::uint64_t seen, std::chrono::steady_clock::time_point deadline) {
  // The executor first, in a statement of its own: GCC 12 destroyed the executor
  // temporary of `co_await` inside the timer's construction twice, releasing the
  // connection strand's last reference early (a use-after-free under AddressSanitizer,
  // heap corruption in a CI run).
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  Waiter waiter{asio::steady_timer(executor, deadline)};
  std::list<Waiter*>::iterator entry;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) co_return WaitResult::kShutDown;
    if (generation_ != seen) co_return WaitResult::kNotified;
    if (waiters_.size() >= max_waiters_) {
      throw Error(ErrorCode::kUnavailable,
                  "too many claims are waiting for work (" + std::to_string(max_waiters_) +
                      "); retry later or without wait_seconds",
                  "too_many_waiters");
    }
    entry = waiters_.insert(waiters_.end(), &waiter);
  }
  // The wait starts under mu_: a Notify that came before it made `woken` true, and then
  // the timer is set to expire at once instead of sleeping until the deadline.
  auto token = asio::as_tuple(asio::use_awaitable);
  co_await asio::async_initiate<decltype(token), void(boost::system::error_code)>(
      [&](auto handler) {
        std::lock_guard lock(mu_);
        if (waiter.woken) waiter.timer.expires_at(std::chrono::steady_clock::time_point::min());
        waiter.timer.async_wait(std::move(handler));
      },
      token);
  std::lock_guard lock(mu_);
  waiters_.erase(entry);
  if (shut_down_) co_return WaitResult::kShutDown;
  co_return waiter.woken ? WaitResult::kNotified : WaitResult::kTimedOut;
}

}  // namespace mljobs::jobs

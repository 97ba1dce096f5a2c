#include "store/postgres/pg_pool.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "common/error.hpp"

namespace mljobs::store::postgres {

using Clock = std::chrono::steady_clock;

// One queued Acquire. Its timer lives on its own strand, so a releaser on another thread
// can cancel it (by posting to the strand) without racing the waiter starting the wait.
struct PgPool::Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : strand(asio::make_strand(ex)), timer(strand) {}
  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;
  bool granted = false;                // guarded by PgPool::mu_
  std::unique_ptr<PgConnection> conn;  // guarded by PgPool::mu_; null when granted: a free slot
};

PgPool::Lease::~Lease() {
  if (conn_) pool_->Release(std::move(conn_));
}

PgPool::PgPool(std::string url, asio::any_io_executor ex, const StoreOptions& options)
    : url_(std::move(url)), ex_(std::move(ex)), options_(options) {}

PgPool::~PgPool() = default;

asio::awaitable<std::unique_ptr<PgConnection>> PgPool::Open() {
  co_return co_await PgConnection::Connect(ex_, url_, options_.connect_timeout);
}

asio::awaitable<PgPool::Lease> PgPool::Acquire() {
  const auto deadline = Clock::now() + options_.acquire_timeout;
  std::vector<std::unique_ptr<PgConnection>> dead;  // closed after the lock is dropped
  std::shared_ptr<Waiter> waiter;
  std::optional<Lease> ready;
  {
    std::lock_guard lock(mu_);
    while (!idle_.empty() && !ready) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back().conn);
      idle_.pop_back();
      if (Clock::now() - conn->created() >= options_.recycle_after) {
        ++counters_.recycled;
      } else if (!conn->LooksAlive()) {
        ++counters_.discarded;
      } else {
        ++in_use_;
        ++counters_.acquired;
        ready.emplace(this, std::move(conn));
        break;
      }
      --size_;
      dead.push_back(std::move(conn));
    }
    if (!ready) {
      if (size_ < options_.pool_size) {
        ++size_;  // reserve a slot, connect on it below
        ++in_use_;
      } else {
        waiter = std::make_shared<Waiter>(ex_);
        waiters_.push_back(waiter);
      }
    }
  }
  dead.clear();
  if (ready) co_return std::move(*ready);

  std::unique_ptr<PgConnection> granted;
  if (waiter) {
    // Whatever happens to this coroutine (timeout, an exception, destruction while
    // suspended), the waiter leaves the queue and a grant it received is handed on.
    struct Abandon {
      PgPool* pool;
      Waiter* w;
      bool keep = false;
      ~Abandon() {
        if (keep) return;
        std::unique_ptr<PgConnection> conn;
        {
          std::lock_guard lock(pool->mu_);
          if (!w->granted) {
            std::erase_if(pool->waiters_, [this](const auto& q) { return q.get() == w; });
            return;
          }
          conn = std::move(w->conn);
          if (!conn) {  // a free slot: pass it on or give it back
            --pool->in_use_;
            --pool->size_;
            if (!pool->waiters_.empty()) {
              ++pool->size_;
              pool->HandToWaiter(conn);
            }
            return;
          }
        }
        pool->Release(std::move(conn));
      }
    } abandon{this, waiter.get()};

    co_await asio::co_spawn(
        waiter->strand,
        [](PgPool* pool, std::shared_ptr<Waiter> w,
           Clock::time_point until) -> asio::awaitable<void> {
          {
            std::lock_guard lock(pool->mu_);
            if (w->granted) co_return;
          }
          w->timer.expires_at(until);
          co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }(this, waiter, deadline),
        asio::use_awaitable);

    {
      std::lock_guard lock(mu_);
      if (waiter->granted) {
        abandon.keep = true;
        granted = std::move(waiter->conn);
        ++counters_.acquired;
        if (granted) co_return Lease(this, std::move(granted));
      } else {
        ++counters_.timed_out;
      }
    }
    if (!abandon.keep) {
      throw Error(ErrorCode::kUnavailable, "postgresql: no connection free within " +
                                               std::to_string(options_.acquire_timeout.count()) +
                                               " ms (pool of " +
                                               std::to_string(options_.pool_size) + ")");
    }
  } else {
    std::lock_guard lock(mu_);
    ++counters_.acquired;
  }

  // A reserved slot: open a connection on it.
  try {
    granted = co_await Open();
  } catch (...) {
    std::unique_ptr<PgConnection> none;
    std::lock_guard lock(mu_);
    ++counters_.connect_failures;
    --in_use_;
    --size_;
    if (!waiters_.empty()) {
      ++size_;
      HandToWaiter(none);
    }
    throw;
  }
  co_return Lease(this, std::move(granted));
}

bool PgPool::HandToWaiter(std::unique_ptr<PgConnection>& conn) {
  if (waiters_.empty()) return false;
  std::shared_ptr<Waiter> w = std::move(waiters_.front());
  waiters_.pop_front();
  w->granted = true;
  w->conn = std::move(conn);
  ++in_use_;
  asio::post(w->strand, [w] { w->timer.cancel(); });
  return true;
}

void PgPool::Release(std::unique_ptr<PgConnection> conn) {
  std::unique_ptr<PgConnection> dead;
  {
    std::lock_guard lock(mu_);
    --in_use_;
    if (conn->Reusable()) {
      if (!HandToWaiter(conn)) idle_.push_back(Idle{std::move(conn)});
      return;
    }
    // Broken, or left mid-statement or mid-transaction: its state is unknown.
    ++counters_.discarded;
    dead = std::move(conn);
    --size_;
    if (!waiters_.empty()) {
      ++size_;
      HandToWaiter(conn);  // conn is null here: the waiter opens a new one on the slot
    }
  }
}

PgPoolStats PgPool::Stats() const {
  std::lock_guard lock(mu_);
  PgPoolStats stats = counters_;
  stats.size = size_;
  stats.in_use = in_use_;
  stats.idle = static_cast<int>(idle_.size());
  stats.waiting = static_cast<int>(waiters_.size());
  return stats;
}

}  // namespace mljobs::store::postgres

// Runs a coroutine to completion from a test's thread: RunSync(io, store.Get(...)) returns
// its value or rethrows its exception. The io_context is run (and restarted) by the call,
// so the test thread is the io thread for that time.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace mljobs::testing {

namespace run_sync_detail {

inline void RunUntilDone(boost::asio::io_context& io, const bool& done,
                         const std::exception_ptr& error) {
  io.restart();
  io.run();
  if (!done) throw std::logic_error("RunSync: the io_context ran out of work first");
  if (error) std::rethrow_exception(error);
}

}  // namespace run_sync_detail

template <typename T>
T RunSync(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::exception_ptr error;
  bool done = false;
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
      error = e;
      done = true;
    });
    run_sync_detail::RunUntilDone(io, done, error);
  } else {
    std::optional<T> result;
    boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
      error = e;
      if (!e) result.emplace(std::move(value));
      done = true;
    });
    run_sync_detail::RunUntilDone(io, done, error);
    return std::move(*result);
  }
}

}  // namespace mljobs::testing

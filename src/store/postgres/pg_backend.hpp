// Creates the PostgreSQL backend: one connection pool and the stores over it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "store/backend.hpp"
#include "store/store_options.hpp"

namespace mljobs::store::postgres {

// `url` is a libpq URI. Connects lazily: a server can start while PostgreSQL is down.
std::unique_ptr<Backend> MakePgBackend(std::string url, boost::asio::any_io_executor ex,
                                       const StoreOptions& options);

}  // namespace mljobs::store::postgres

// Opens the backend a database URL names: `sqlite:PATH` or `postgresql://...`
// (also `postgres://`). Neither backend's headers leak past this file.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "store/backend.hpp"
#include "store/store_options.hpp"

namespace mljobs::store {

// Does not touch the database yet: connections are made on first use, so a server can
// start while the database is down and serve once it returns. Throws
// Error(kInvalidArgument) for a URL of neither form. The backend must be destroyed before
// the io_context behind `ex`.
std::unique_ptr<Backend> OpenBackend(const std::string& url, boost::asio::any_io_executor ex,
                                     const StoreOptions& options);

}  // namespace mljobs::store

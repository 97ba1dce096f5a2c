// Creates the PostgreSQL backend. Kept apart from pg_job_store.hpp so open_store needs
// nothing of the backend (and no libpq header) but this one function.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "jobs/job_store.hpp"
#include "store/store_options.hpp"

namespace mljobs::store::postgres {

// `url` is a libpq URI. Connects lazily: a server can start while PostgreSQL is down.
std::unique_ptr<jobs::JobStore> MakePgJobStore(std::string url, boost::asio::any_io_executor ex,
                                               const StoreOptions& options);

}  // namespace mljobs::store::postgres

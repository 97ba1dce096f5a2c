// Creates the SQLite backend. Kept apart from sqlite_job_store.hpp so open_store needs
// nothing of the backend but this one function.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "jobs/job_store.hpp"
#include "store/store_options.hpp"

namespace mljobs::store::sqlite {

// `path` is a file path (its directory is created if missing). Does not throw when the
// file cannot be opened yet; the first call that needs it throws Error(kUnavailable).
std::unique_ptr<jobs::JobStore> MakeSqliteJobStore(std::string path,
                                                   boost::asio::any_io_executor ex,
                                                   const StoreOptions& options);

}  // namespace mljobs::store::sqlite

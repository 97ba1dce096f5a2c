// Creates the SQLite backend: one SqliteDatabase and the stores over it.
#pragma once

#include <memory>
#include <string>

#include "store/backend.hpp"
#include "store/store_options.hpp"

namespace mljobs::store::sqlite {

// `path` is a file path (its directory is created if missing). Does not throw when the
// file cannot be opened yet; the first call that needs it throws Error(kUnavailable).
std::unique_ptr<Backend> MakeSqliteBackend(std::string path, const StoreOptions& options);

}  // namespace mljobs::store::sqlite

#include "store/open_store.hpp"

#include "common/error.hpp"
#include "store/postgres/pg_backend.hpp"
#include "store/sqlite/sqlite_backend.hpp"

namespace mljobs::store {

std::unique_ptr<Backend> OpenBackend(const std::string& url, boost::asio::any_io_executor ex,
                                     const StoreOptions& options) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) {
    std::string path = url.substr(kSqlite.size());
    if (path.empty()) throw Error(ErrorCode::kInvalidArgument, "sqlite: URL needs a file path");
    return sqlite::MakeSqliteBackend(std::move(path), options);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return postgres::MakePgBackend(url, std::move(ex), options);
  }
  throw Error(ErrorCode::kInvalidArgument,
              "database URL must be sqlite:PATH or postgresql://... (got '" + url + "')");
}

}  // namespace mljobs::store

#include "store/open_store.hpp"

#include "common/error.hpp"
#include "store/postgres/pg_job_store_factory.hpp"
#include "store/sqlite/sqlite_job_store_factory.hpp"

namespace mljobs::store {

std::unique_ptr<jobs::JobStore> OpenStore(const std::string& url, boost::asio::any_io_executor ex,
                                          const StoreOptions& options) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) {
    std::string path = url.substr(kSqlite.size());
    if (path.empty()) throw Error(ErrorCode::kInvalidArgument, "sqlite: URL needs a file path");
    return sqlite::MakeSqliteJobStore(std::move(path), ex, options);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return postgres::MakePgJobStore(url, ex, options);
  }
  throw Error(ErrorCode::kInvalidArgument,
              "database URL must be sqlite:PATH or postgresql://... (got '" + url + "')");
}

}  // namespace mljobs::store

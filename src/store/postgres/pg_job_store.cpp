#include "store/postgres/pg_job_store.hpp"

#include "common/error.hpp"
#include "store/postgres/pg_job_store_factory.hpp"

namespace mljobs::store::postgres {
namespace {

[[noreturn]] void NotYet() { throw Error(ErrorCode::kInternal, "postgresql backend: not yet"); }

}  // namespace

PgJobStore::PgJobStore(std::string url, boost::asio::any_io_executor ex,
                       const StoreOptions& options)
    : url_(std::move(url)), ex_(std::move(ex)), options_(options) {}

asio::awaitable<void> PgJobStore::Migrate() { NotYet(); co_return; }
asio::awaitable<std::string> PgJobStore::ServerSecret(obs::RequestStats&) { NotYet(); co_return ""; }
asio::awaitable<jobs::Job> PgJobStore::Insert(obs::RequestStats&, const jobs::NewJob&) {
  NotYet();
  co_return jobs::Job{};
}
asio::awaitable<void> PgJobStore::InsertBatch(obs::RequestStats&, std::span<const jobs::NewJob>) {
  NotYet();
  co_return;
}
asio::awaitable<std::optional<jobs::Job>> PgJobStore::Get(obs::RequestStats&, std::string_view,
                                                          const std::optional<std::string>&) {
  NotYet();
  co_return std::nullopt;
}
asio::awaitable<jobs::CancelResult> PgJobStore::Cancel(obs::RequestStats&, std::string_view,
                                                       const std::optional<std::string>&,
                                                       jobs::Micros) {
  NotYet();
  co_return jobs::CancelResult{};
}
asio::awaitable<jobs::Page> PgJobStore::List(obs::RequestStats&, const jobs::ListQuery&) {
  NotYet();
  co_return jobs::Page{};
}
asio::awaitable<jobs::CountResult> PgJobStore::Count(obs::RequestStats&, const jobs::JobFilter&,
                                                     bool) {
  NotYet();
  co_return jobs::CountResult{};
}
asio::awaitable<void> PgJobStore::Export(obs::RequestStats&, const jobs::JobFilter&,
                                         jobs::SortOrder, jobs::FieldSet, int,
                                         const jobs::ExportSink&) {
  NotYet();
  co_return;
}
asio::awaitable<void> PgJobStore::Ping(obs::RequestStats&) { NotYet(); co_return; }

std::unique_ptr<jobs::JobStore> MakePgJobStore(std::string url, boost::asio::any_io_executor ex,
                                               const StoreOptions& options) {
  return std::make_unique<PgJobStore>(std::move(url), std::move(ex), options);
}

}  // namespace mljobs::store::postgres

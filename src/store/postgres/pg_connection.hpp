// PgConnection: one libpq connection in non-blocking mode, its socket watched by Asio so
// that no io thread ever blocks on the network. Used by one coroutine at a time (the
// holder of a pool lease), which may resume on any thread of the pool's executor.
#pragma once

#include <libpq-fe.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "obs/request_stats.hpp"
#include "store/postgres/pg_params.hpp"
#include "store/postgres/pg_result.hpp"
#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {

namespace asio = boost::asio;

// One statement of a pipeline.
struct PgCommand {
  // Statistics name; also the prepared-statement name when `prepared`.
  std::string_view name;
  std::string_view sql;
  const PgParams* params = nullptr;
  // Prepared once per connection under `name` (in the same pipeline as its first run);
  // false runs it as the unnamed statement (DECLARE, FETCH, transaction control).
  bool prepared = true;
  // PgStatement::generic_plan: a pipeline whose prepared commands all want it runs with
  // generic plans (the connection switches outside transactions only).
  bool generic_plan = false;
};

// `statement` run prepared under its own name, in its plan mode. `params` must outlive the
// run (nullptr: none).
inline PgCommand Prepared(const PgStatement& statement, const PgParams* params = nullptr) {
  return PgCommand{statement.name, statement.sql, params, true, statement.generic_plan};
}

class PgConnection {
 public:
  // Resolves the host name (asynchronously), then PQconnectStartParams + PQconnectPoll
  // until connected or `timeout`, then kSessionSetup. Throws Error(kUnavailable) when
  // the server cannot be reached.
  static asio::awaitable<std::unique_ptr<PgConnection>> Connect(asio::any_io_executor ex,
                                                                const std::string& url,
                                                                std::chrono::milliseconds timeout);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Sends every command and a sync in pipeline mode (one round trip; a first use also
  // sends its PQsendPrepare there), then reads one result per command. Each command that
  // ran is recorded in `stats` once. Throws the first failing command's Error after
  // draining the pipeline, so the connection stays usable unless the error was a
  // connection loss.
  asio::awaitable<std::vector<PgResult>> Run(obs::RequestStats& stats,
                                             std::span<const PgCommand> commands);
  asio::awaitable<PgResult> Run(obs::RequestStats& stats, const PgCommand& command);

  // PQsendQuery: several `;`-separated statements without parameters (migrations).
  asio::awaitable<void> RunScript(std::string_view sql);

  // Idle, not broken and outside a transaction: fit to go back to the pool.
  bool Reusable() const;
  // Reusable() and, after a zero-timeout poll of the socket, not closed by the server
  // while it sat idle (a restart, an outage).
  bool LooksAlive();
  std::chrono::steady_clock::time_point created() const { return created_; }
  // Prepared statements this connection holds (names).
  std::size_t PreparedCount() const { return prepared_index_.size(); }

  // Bound on prepared statements per connection (list shapes are many); the least
  // recently used one is deallocated when a new one would exceed it.
  static constexpr std::size_t kMaxPrepared = 200;

 private:
  // The URL's host name resolved: one `host` entry per address, `hostaddr` parallel.
  struct Hosts {
    std::string host;
    std::string hostaddr;
  };

  PgConnection(asio::any_io_executor ex, PGconn* conn);
  static asio::awaitable<std::optional<Hosts>> ResolveHost(const std::string& url);
  // PQconnectStartParams; the connection is not usable before PollConnect.
  static std::unique_ptr<PgConnection> Start(asio::any_io_executor ex, const std::string& url,
                                             const std::optional<Hosts>& hosts);

  asio::awaitable<void> PollConnect();
  asio::awaitable<void> Flush();
  asio::awaitable<PgResult> NextResult();
  asio::awaitable<void> WaitRead();
  [[noreturn]] void Fail(std::string_view what);
  // Marks `name` most recently used; false when it is not prepared here.
  bool TouchPrepared(std::string_view name);

  PGconn* conn_;
  // Non-owning: libpq owns the fd, so it is release()d, never closed, by Asio.
  asio::posix::stream_descriptor socket_;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
  bool broken_ = false;
  // plan_cache_mode is force_generic_plan rather than kSessionSetup's custom plans.
  bool generic_plans_ = false;
  // False from the first byte sent until every result was read.
  bool clean_ = true;
  std::list<std::string> prepared_lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<std::string>::iterator> prepared_index_;
};

}  // namespace mljobs::store::postgres

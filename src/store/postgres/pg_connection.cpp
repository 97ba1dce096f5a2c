#include "store/postgres/pg_connection.hpp"

#include <poll.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <unordered_set>

#include "common/error.hpp"
#include "store/postgres/pg_error.hpp"
#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// Pointers into `params` in the layout PQsendQueryParams/PQsendQueryPrepared expect.
struct ParamArrays {
  explicit ParamArrays(const PgParams* params) {
    int n = params ? params->size() : 0;
    values.resize(n);
    lengths.resize(n);
    formats.resize(n);
    for (int i = 0; i < n; ++i) {
      const std::string& v = params->Value(i);
      values[i] = params->IsNull(i) ? nullptr : v.data();
      lengths[i] = static_cast<int>(v.size());
      formats[i] = params->Format(i);
    }
  }
  int size() const { return static_cast<int>(values.size()); }
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
};

}  // namespace

PgConnection::PgConnection(asio::any_io_executor ex, PGconn* conn)
    : conn_(conn), socket_(std::move(ex)) {}

PgConnection::~PgConnection() {
  if (socket_.is_open()) socket_.release();
  PQfinish(conn_);
}

asio::awaitable<std::optional<PgConnection::Hosts>> PgConnection::ResolveHost(
    const std::string& url) {
  // libpq resolves host names with a blocking getaddrinfo inside PQconnectPoll; resolving
  // here (Asio runs it off the io threads) and passing `hostaddr` keeps that off them.
  std::string host, hostaddr;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    co_return std::nullopt;  // PQconnectStartParams reports the bad URL
  }
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::string_view(o->keyword) == "host") host = o->val;
    if (std::string_view(o->keyword) == "hostaddr") hostaddr = o->val;
  }
  PQconninfoFree(options);
  // Nothing to resolve: a socket directory, an address, a list (left to libpq as is).
  boost::system::error_code not_an_address;
  asio::ip::make_address(host, not_an_address);
  if (host.empty() || !hostaddr.empty() || host.front() == '/' || host.front() == '@' ||
      host.find(',') != std::string::npos || !not_an_address) {
    co_return std::nullopt;
  }
  // The executor in a statement of its own (see WorkNotifier::Wait: GCC 12 mishandles a
  // co_await result used as a constructor argument).
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(executor);
  auto [ec, results] = co_await resolver.async_resolve(host, "", kAsTuple);
  if (ec) {
    throw Error(ErrorCode::kUnavailable,
                "postgresql: cannot resolve host \"" + host + "\": " + ec.message());
  }
  // One host entry per address, so libpq still tries each in turn (::1, then 127.0.0.1).
  Hosts hosts;
  for (const auto& entry : results) {
    if (!hosts.host.empty()) {
      hosts.host += ',';
      hosts.hostaddr += ',';
    }
    hosts.host += host;
    hosts.hostaddr += entry.endpoint().address().to_string();
  }
  co_return hosts;
}

std::unique_ptr<PgConnection> PgConnection::Start(asio::any_io_executor ex, const std::string& url,
                                                  const std::optional<Hosts>& hosts) {
  // Defaults before dbname: with expand_dbname the URL's own settings override them;
  // resolved addresses after it, so that they override the URL's host.
  std::vector<const char*> keys = {"application_name",    "keepalives",       "keepalives_idle",
                                   "keepalives_interval", "keepalives_count", "dbname"};
  std::vector<const char*> values = {"mljobs", "1", "30", "10", "3", url.c_str()};
  if (hosts) {
    keys.insert(keys.end(), {"host", "hostaddr"});
    values.insert(values.end(), {hosts->host.c_str(), hosts->hostaddr.c_str()});
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectStartParams(keys.data(), values.data(), 1);
  if (raw == nullptr) throw Error(ErrorCode::kUnavailable, "postgresql: out of memory");
  std::unique_ptr<PgConnection> conn(new PgConnection(std::move(ex), raw));
  if (PQstatus(raw) == CONNECTION_BAD) conn->Fail("connect");
  // Notices ("already exists, skipping") are not errors; libpq would print them to stderr.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  return conn;
}

asio::awaitable<std::unique_ptr<PgConnection>> PgConnection::Connect(
    asio::any_io_executor ex, const std::string& url, std::chrono::milliseconds timeout) {
  // The connect steps and the timer race in a parallel group, on a strand so that the
  // two never run on two threads at once. `||` waits for the first to *succeed*, so a
  // failed attempt comes back as a value instead of waiting out the timer.
  std::unique_ptr<PgConnection> conn;
  auto attempt = [&]() -> asio::awaitable<std::exception_ptr> {
    auto steps = [&]() -> asio::awaitable<std::exception_ptr> {
      try {
        std::optional<Hosts> hosts = co_await ResolveHost(url);
        conn = Start(ex, url, hosts);
        co_await conn->PollConnect();
      } catch (...) {
        co_return std::current_exception();
      }
      co_return nullptr;
    };
    using namespace asio::experimental::awaitable_operators;
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor, timeout);
    auto winner = co_await (steps() || timer.async_wait(asio::use_awaitable));
    if (winner.index() == 0) co_return std::get<0>(winner);
    co_return std::make_exception_ptr(
        Error(ErrorCode::kUnavailable,
              "postgresql: connect timed out after " + std::to_string(timeout.count()) + " ms"));
  };
  std::exception_ptr failure =
      co_await asio::co_spawn(asio::make_strand(ex), attempt(), asio::use_awaitable);
  if (failure) std::rethrow_exception(failure);
  if (PQsetnonblocking(conn->conn_, 1) != 0) conn->Fail("PQsetnonblocking");
  co_await conn->RunScript(kSessionSetup);
  co_return conn;
}

asio::awaitable<void> PgConnection::PollConnect() {
  // PQconnectPoll starts as if it had asked to wait for writing.
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (true) {
    // libpq may close and open sockets while connecting (another address, SSL
    // fallback), and a new one can reuse the old number: watch whatever it holds now.
    if (socket_.is_open()) socket_.release();
    if (PQsocket(conn_) < 0) Fail("connect");
    socket_.assign(PQsocket(conn_));
    auto wait = status == PGRES_POLLING_READING ? asio::posix::descriptor_base::wait_read
                                                : asio::posix::descriptor_base::wait_write;
    auto [ec] = co_await socket_.async_wait(wait, kAsTuple);
    if (ec) Fail("connect: " + ec.message());
    status = PQconnectPoll(conn_);
    if (status == PGRES_POLLING_OK) co_return;
    if (status == PGRES_POLLING_FAILED) Fail("connect");
  }
}

void PgConnection::Fail(std::string_view what) {
  broken_ = true;
  std::string message = "postgresql: " + std::string(what);
  // libpq's messages span lines ("...\n\tIs the server running..."): make them one.
  std::string detail;
  for (const char* c = PQerrorMessage(conn_); *c != '\0'; ++c) {
    bool space = *c == '\n' || *c == '\t' || *c == ' ';
    if (!space) {
      detail += *c;
    } else if (!detail.empty() && detail.back() != ' ') {
      detail += ' ';
    }
  }
  while (!detail.empty() && detail.back() == ' ') detail.pop_back();
  if (!detail.empty()) message += ": " + detail;
  throw Error(ErrorCode::kUnavailable, std::move(message));
}

bool PgConnection::Reusable() const {
  return !broken_ && clean_ && PQstatus(conn_) == CONNECTION_OK &&
         PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

bool PgConnection::LooksAlive() {
  if (!Reusable()) return false;
  pollfd pfd{PQsocket(conn_), POLLIN, 0};
  if (::poll(&pfd, 1, 0) > 0) {
    // Nothing is expected while idle: readable means closed (EOF) or a shutdown notice.
    if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK ||
        (pfd.revents & (POLLHUP | POLLERR)) != 0) {
      broken_ = true;
      return false;
    }
  }
  return true;
}

bool PgConnection::TouchPrepared(std::string_view name) {
  auto it = prepared_index_.find(name);
  if (it == prepared_index_.end()) return false;
  prepared_lru_.splice(prepared_lru_.begin(), prepared_lru_, it->second);
  return true;
}

asio::awaitable<void> PgConnection::WaitRead() {
  auto [ec] = co_await socket_.async_wait(asio::posix::descriptor_base::wait_read, kAsTuple);
  if (ec) Fail("wait: " + ec.message());
}

asio::awaitable<void> PgConnection::Flush() {
  // Waiting only for writability cannot deadlock here: while our bytes are still going
  // out, the server has only small replies to send (parse/bind acknowledgements); every
  // pipeline puts its one large input or large result in its last command.
  while (true) {
    int rc = PQflush(conn_);
    if (rc == 0) co_return;
    if (rc < 0) Fail("send");
    auto [ec] = co_await socket_.async_wait(asio::posix::descriptor_base::wait_write, kAsTuple);
    if (ec) Fail("wait: " + ec.message());
  }
}

asio::awaitable<PgResult> PgConnection::NextResult() {
  while (true) {
    if (PQstatus(conn_) == CONNECTION_BAD) Fail("connection lost");
    if (PQisBusy(conn_) == 0) co_return PgResult(PQgetResult(conn_));
    co_await WaitRead();
    if (PQconsumeInput(conn_) == 0) Fail("receive");
  }
}

asio::awaitable<PgResult> PgConnection::Run(obs::RequestStats& stats, const PgCommand& command) {
  auto results = co_await Run(stats, std::span<const PgCommand>(&command, 1));
  co_return std::move(results.front());
}

asio::awaitable<std::vector<PgResult>> PgConnection::Run(obs::RequestStats& stats,
                                                         std::span<const PgCommand> commands) {
  if (broken_) Fail("connection already failed");
  // What the pipeline will answer, in order: a result (then NULL) per sent item.
  enum class Kind { kDeallocate, kPrepare, kExecute };
  struct Expected {
    Kind kind;
    std::size_t command;
  };
  std::vector<Expected> expected;
  std::unordered_set<std::string_view> preparing;

  // The plan mode is switched by a SET of its own, committed at once, and only outside a
  // transaction: a SET inside one would be undone by its rollback unseen.
  bool any_prepared = false;
  bool all_generic = true;
  for (const PgCommand& cmd : commands) {
    if (!cmd.prepared) continue;
    any_prepared = true;
    all_generic = all_generic && cmd.generic_plan;
  }
  const bool want_generic = any_prepared && all_generic;
  if (any_prepared && want_generic != generic_plans_ &&
      PQtransactionStatus(conn_) == PQTRANS_IDLE) {
    co_await RunScript(want_generic ? kGenericPlans : kSessionSetup);
    generic_plans_ = want_generic;
  }

  if (PQenterPipelineMode(conn_) == 0) Fail("PQenterPipelineMode");
  clean_ = false;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const PgCommand& cmd = commands[i];
    ParamArrays params(cmd.params);
    // libpq wants NUL-terminated text; the SQL is copied only when it is sent.
    std::string name(cmd.name);
    if (cmd.prepared && !TouchPrepared(name) && preparing.insert(cmd.name).second) {
      while (prepared_index_.size() + preparing.size() > kMaxPrepared) {
        std::string victim = "DEALLOCATE \"" + prepared_lru_.back() + "\"";
        prepared_index_.erase(prepared_lru_.back());
        prepared_lru_.pop_back();
        if (PQsendQueryParams(conn_, victim.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 1) ==
            0) {
          Fail("send");
        }
        expected.push_back({Kind::kDeallocate, i});
      }
      if (PQsendPrepare(conn_, name.c_str(), std::string(cmd.sql).c_str(), params.size(),
                        nullptr) == 0) {
        Fail("send");
      }
      expected.push_back({Kind::kPrepare, i});
    }
    int sent = cmd.prepared
                   ? PQsendQueryPrepared(conn_, name.c_str(), params.size(), params.values.data(),
                                         params.lengths.data(), params.formats.data(), 1)
                   : PQsendQueryParams(conn_, std::string(cmd.sql).c_str(), params.size(), nullptr,
                                       params.values.data(), params.lengths.data(),
                                       params.formats.data(), 1);
    if (sent == 0) Fail("send");
    expected.push_back({Kind::kExecute, i});
  }
  if (PQpipelineSync(conn_) == 0) Fail("PQpipelineSync");
  auto started = Clock::now();
  co_await Flush();

  std::vector<PgResult> results(commands.size());
  std::optional<Error> first_error;
  auto last = started;
  for (const Expected& e : expected) {
    const PgCommand& cmd = commands[e.command];
    PgResult result = co_await NextResult();
    if (!result) Fail("pipeline out of step");
    ExecStatusType status = result.Status();
    if (status == PGRES_FATAL_ERROR && !first_error) {
      first_error = ErrorFromResult(result.get(), cmd.name);
    }
    if (e.kind == Kind::kPrepare && status == PGRES_COMMAND_OK) {
      prepared_lru_.emplace_front(cmd.name);
      prepared_index_.emplace(prepared_lru_.front(), prepared_lru_.begin());
    }
    if (e.kind == Kind::kExecute && status != PGRES_PIPELINE_ABORTED) {
      auto now = Clock::now();
      stats.RecordStatement(cmd.name, now - last,
                            status == PGRES_FATAL_ERROR ? 0 : result.AffectedRows());
      last = now;
      results[e.command] = std::move(result);
    }
    // Each item's results end with a NULL.
    while (co_await NextResult()) {
    }
  }
  PgResult sync = co_await NextResult();
  if (!sync || sync.Status() != PGRES_PIPELINE_SYNC) Fail("pipeline out of step");
  if (PQexitPipelineMode(conn_) == 0) Fail("PQexitPipelineMode");
  clean_ = true;
  if (first_error) {
    if (IsConnectionLoss(*first_error)) broken_ = true;
    throw *first_error;
  }
  co_return results;
}

asio::awaitable<void> PgConnection::RunScript(std::string_view sql) {
  if (broken_) Fail("connection already failed");
  clean_ = false;
  if (PQsendQuery(conn_, std::string(sql).c_str()) == 0) Fail("send");
  co_await Flush();
  std::optional<Error> first_error;
  while (PgResult result = co_await NextResult()) {
    if (result.Status() == PGRES_FATAL_ERROR && !first_error) {
      first_error = ErrorFromResult(result.get(), "script");
    }
  }
  clean_ = true;
  if (first_error) {
    if (IsConnectionLoss(*first_error)) broken_ = true;
    throw *first_error;
  }
}

}  // namespace mljobs::store::postgres

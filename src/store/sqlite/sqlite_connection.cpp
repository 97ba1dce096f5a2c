#include "store/sqlite/sqlite_connection.hpp"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/error.hpp"
#include "store/sqlite/sqlite_error.hpp"

namespace mljobs::store::sqlite {
namespace {

// Per-connection page cache (negative: KiB). The mmap window is shared through the OS page
// cache, so it can be larger than the per-connection heap cache without multiplying.
constexpr const char* kConnectionPragmas =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "PRAGMA foreign_keys = ON;"
    "PRAGMA cache_size = -16384;"
    "PRAGMA mmap_size = 268435456;"
    "PRAGMA temp_store = MEMORY;";

// A reader never writes, even by mistake.
constexpr const char* kReaderPragmas = "PRAGMA query_only = ON;";

// Memory statistics make every SQLite allocation take a global mutex (5 % of a seed's
// time in pthread_mutex_lock/unlock); nothing here reads them. Must precede the first open.
void ConfigureLibraryOnce() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

Statement::Statement(Statement&& other) noexcept
    : connection_(other.connection_), sql_(std::move(other.sql_)), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  connection_->Return(std::move(sql_), stmt_);
}

int Statement::ParameterIndex(const char* name) const {
  int index = sqlite3_bind_parameter_index(stmt_, name);
  if (index == 0) {
    throw Error(ErrorCode::kInternal,
                std::string("sqlite: statement has no parameter ") + name + ": " + sql_);
  }
  return index;
}

void Statement::CheckBind(int rc, const char* name) const {
  if (rc != SQLITE_OK) ThrowSqliteError(connection_->db_, rc, std::string("bind ") + name);
}

void Statement::BindInt64(const char* name, std::int64_t value) {
  CheckBind(sqlite3_bind_int64(stmt_, ParameterIndex(name), value), name);
}

void Statement::BindDouble(const char* name, double value) {
  CheckBind(sqlite3_bind_double(stmt_, ParameterIndex(name), value), name);
}

void Statement::BindText(const char* name, std::string_view value) {
  // SQLITE_TRANSIENT: the statement may outlive the caller's buffer (it is stepped later).
  CheckBind(sqlite3_bind_text64(stmt_, ParameterIndex(name), value.data(), value.size(),
                                SQLITE_TRANSIENT, SQLITE_UTF8),
            name);
}

void Statement::BindNull(const char* name) {
  CheckBind(sqlite3_bind_null(stmt_, ParameterIndex(name)), name);
}

void Statement::BindOptionalText(const char* name, const std::optional<std::string>& value) {
  if (value) {
    BindText(name, std::string_view(*value));
  } else {
    BindNull(name);
  }
}

bool Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  ThrowSqliteError(connection_->db_, rc, "step");
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::Int64(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::Double(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::Text(int column) const {
  // Text first, then bytes: sqlite3_column_bytes is only valid after the conversion.
  const auto* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::int64_t> Statement::OptionalInt64(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int64(column);
}

std::optional<double> Statement::OptionalDouble(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Double(column);
}

std::optional<std::string> Statement::OptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}

std::unique_ptr<Connection> Connection::Open(const std::string& path, Role role,
                                             std::chrono::milliseconds busy_timeout) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw Error(ErrorCode::kUnavailable,
                  "sqlite: cannot create directory " + parent.string() + ": " + ec.message());
    }
  }
  ConfigureLibraryOnce();
  sqlite3* db = nullptr;
  // NOMUTEX: a connection is only ever used by one thread at a time.
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Connection> connection(new Connection(db));
  if (rc != SQLITE_OK) {
    throw Error(ErrorCode::kUnavailable, "sqlite: cannot open " + path + ": " +
                                             (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
  try {
    // journal_mode = WAL on a file another connection is opening or migrating at the same
    // moment can answer SQLITE_BUSY at once, without the busy handler (SQLite's deadlock
    // avoidance): retry it within the busy timeout.
    const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
    while ((rc = sqlite3_exec(db, kConnectionPragmas, nullptr, nullptr, nullptr)) != SQLITE_OK &&
           (rc & 0xff) == SQLITE_BUSY && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (rc != SQLITE_OK) ThrowSqliteError(db, rc, "PRAGMA (connection settings)");
    if (role == Role::kReader) connection->Exec(kReaderPragmas);
  } catch (const Error& e) {
    // A file that opens but is not a usable database: the caller cannot be served now.
    throw Error(ErrorCode::kUnavailable, "sqlite: cannot use " + path + ": " + e.what());
  }
  return connection;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : lru_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

void Connection::Exec(const std::string& sql) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) ThrowSqliteError(db_, rc, sql.substr(0, 60));
}

Statement Connection::Prepare(std::string_view sql) {
  if (auto it = index_.find(sql); it != index_.end()) {
    auto node = it->second;
    index_.erase(it);
    Statement statement(*this, std::move(node->first), node->second);
    lru_.erase(node);
    return statement;
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) ThrowSqliteError(db_, rc, "prepare " + std::string(sql.substr(0, 60)));
  return Statement(*this, std::string(sql), stmt);
}

void Connection::Return(std::string sql, sqlite3_stmt* stmt) noexcept {
  if (index_.contains(sql)) {
    // The same SQL was checked out twice at once; keep one copy.
    sqlite3_finalize(stmt);
    return;
  }
  lru_.emplace_front(std::move(sql), stmt);
  index_.emplace(lru_.front().first, lru_.begin());
  if (lru_.size() > kStatementCacheSize) {
    index_.erase(lru_.back().first);
    sqlite3_finalize(lru_.back().second);
    lru_.pop_back();
  }
}

Transaction::Transaction(Connection& connection) : connection_(connection) {
  connection_.Exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (done_) return;
  // Best effort: if ROLLBACK fails the connection already rolled back (SQLite does so on
  // some errors), and a destructor must not throw.
  sqlite3_exec(connection_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::Commit() {
  connection_.Exec("COMMIT");
  done_ = true;
}

}  // namespace mljobs::store::sqlite

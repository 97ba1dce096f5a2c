// An owned sqlite3 connection with its bounded cache of prepared statements, a checked-out
// statement, and a write transaction. A connection is used by one thread at a time (the
// store hands each to one pool thread per call), so nothing here locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace mljobs::store::sqlite {

class Connection;

// A prepared statement checked out of its connection's cache. Parameters are bound by
// name (":uuid"). On destruction it is reset and returned to the cache.
class Statement {
 public:
  Statement(Connection& connection, std::string sql, sqlite3_stmt* stmt)
      : connection_(&connection), sql_(std::move(sql)), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  void BindInt64(const char* name, std::int64_t value);
  void BindDouble(const char* name, double value);
  void BindText(const char* name, std::string_view value);
  void BindNull(const char* name);
  // NULL when `value` is empty.
  void BindOptionalText(const char* name, const std::optional<std::string>& value);

  // Runs to the next row: true when one is available, false when the statement is done.
  // Throws Error (see ThrowSqliteError).
  bool Step();
  // Clears bindings and rewinds, to run the same statement again with new values.
  void Reset();

  bool IsNull(int column) const;
  std::int64_t Int64(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;
  std::optional<std::int64_t> OptionalInt64(int column) const;
  std::optional<double> OptionalDouble(int column) const;
  std::optional<std::string> OptionalText(int column) const;

 private:
  int ParameterIndex(const char* name) const;
  void CheckBind(int rc, const char* name) const;

  Connection* connection_;
  std::string sql_;  // the cache key
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  enum class Role { kWriter, kReader };

  // Opens (creating the file and its directory if missing) and configures a connection:
  // WAL, synchronous=NORMAL, busy_timeout, foreign keys, page cache and mmap; readers are
  // also query_only. Throws Error(kUnavailable) when the file cannot be opened or used.
  static std::unique_ptr<Connection> Open(const std::string& path, Role role,
                                          std::chrono::milliseconds busy_timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs SQL without parameters or results (PRAGMAs, DDL, BEGIN/COMMIT).
  void Exec(const std::string& sql);
  // A prepared statement for `sql`, from the cache when it was prepared before.
  Statement Prepare(std::string_view sql);

  sqlite3* handle() const { return db_; }

 private:
  friend class Statement;
  // Bounds the cache: the list SQL varies by shape (filters, order, heavy columns), so an
  // unbounded cache would grow with every shape ever asked for.
  static constexpr std::size_t kStatementCacheSize = 64;

  explicit Connection(sqlite3* db) : db_(db) {}
  // Takes a statement back after use; finalizes the least recently used one beyond the bound.
  void Return(std::string sql, sqlite3_stmt* stmt) noexcept;

  sqlite3* db_;
  // Most recently used first; `index_` points into it. A checked-out statement is in neither,
  // so eviction never finalizes a statement in use.
  std::list<std::pair<std::string, sqlite3_stmt*>> lru_;
  std::unordered_map<std::string_view, decltype(lru_)::iterator> index_;
};

// BEGIN IMMEDIATE ... COMMIT; rolled back on destruction unless committed. IMMEDIATE takes
// the write lock at the start, so two writers (two processes) never deadlock upgrading it.
class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void Commit();

 private:
  Connection& connection_;
  bool done_ = false;
};

}  // namespace mljobs::store::sqlite

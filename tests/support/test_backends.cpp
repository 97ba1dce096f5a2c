#include "support/test_backends.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "store/open_store.hpp"
#include "support/test_env.hpp"

namespace mljobs::testing {
namespace {

std::string RandomSuffix() {
  std::random_device random;
  std::uniform_int_distribution<int> digit(0, 15);
  std::string suffix;
  for (int i = 0; i < 12; ++i) suffix += "0123456789abcdef"[digit(random)];
  return suffix;
}

// The server URL with its database name replaced: postgresql://u@h:p/db?x -> .../name?x.
std::string WithDatabase(const std::string& url, const std::string& name) {
  std::size_t scheme = url.find("://");
  std::size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::size_t query = url.find('?', path == std::string::npos ? 0 : path);
  std::string head = url.substr(0, std::min(path, query));
  std::string tail = query == std::string::npos ? "" : url.substr(query);
  return head + "/" + name + tail;
}

struct PgConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnCloser>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultClearer>;

PgConnPtr PgConnect(const std::string& url) {
  PgConnPtr conn(PQconnectdb(url.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("test database: cannot connect to " + url + ": " +
                             PQerrorMessage(conn.get()));
  }
  return conn;
}

std::vector<TestDatabase::Row> PgQuery(const std::string& url, const std::string& sql) {
  PgConnPtr conn = PgConnect(url);
  PgResultPtr result(PQexec(conn.get(), sql.c_str()));
  ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error("test database: " + sql + ": " + PQerrorMessage(conn.get()));
  }
  std::vector<TestDatabase::Row> rows;
  for (int r = 0; r < PQntuples(result.get()); ++r) {
    TestDatabase::Row& row = rows.emplace_back();
    for (int c = 0; c < PQnfields(result.get()); ++c) {
      if (PQgetisnull(result.get(), r, c)) {
        row.emplace_back();
      } else {
        row.emplace_back(PQgetvalue(result.get(), r, c));
      }
    }
  }
  return rows;
}

std::vector<TestDatabase::Row> SqliteQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> owner(db, sqlite3_close_v2);
  if (rc != SQLITE_OK) {
    throw std::runtime_error("test database: cannot open " + path + ": " + sqlite3_errstr(rc));
  }
  sqlite3_busy_timeout(db, 10000);
  std::vector<TestDatabase::Row> rows;
  const char* next = sql.c_str();
  while (next != nullptr && *next != '\0') {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, next, -1, &raw, &next) != SQLITE_OK) {
      throw std::runtime_error("test database: " + sql + ": " + sqlite3_errmsg(db));
    }
    if (raw == nullptr) continue;  // whitespace or a comment
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    rows.clear();
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      TestDatabase::Row& row = rows.emplace_back();
      for (int c = 0; c < sqlite3_column_count(raw); ++c) {
        const auto* text = sqlite3_column_text(raw, c);
        if (text == nullptr) {
          row.emplace_back();
        } else {
          row.emplace_back(reinterpret_cast<const char*>(text));
        }
      }
    }
    if (rc != SQLITE_DONE) {
      throw std::runtime_error("test database: " + sql + ": " + sqlite3_errmsg(db));
    }
  }
  return rows;
}

}  // namespace

std::optional<std::string> BackendUnavailable(std::string_view backend) {
  if (backend == kSqliteBackend) return std::nullopt;
  if (backend != kPostgresqlBackend) return "unknown backend '" + std::string(backend) + "'";
  if (PgUrlFromEnv()) return std::nullopt;
  std::string why = "MLJOBS_TEST_PG_URL is not set (run under scripts/pg-sandbox)";
  if (PgRequired()) {
    // Fatal, so that gtest runs no test body after a SetUp that then skips: a non-fatal
    // failure followed by GTEST_SKIP() does not count as skipped, and the body would run.
    [&] { FAIL() << why << ", and MLJOBS_REQUIRE_PG=1 requires PostgreSQL"; }();
  }
  return why;
}

TestDatabase::TestDatabase(std::string_view backend) : backend_(backend) {
  if (backend_ == kSqliteBackend) {
    std::string pattern = (std::filesystem::temp_directory_path() / "mljobs-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("test database: mkdtemp failed for " + pattern);
    }
    sqlite_dir_ = pattern;
    sqlite_path_ = sqlite_dir_ + "/jobs.db";
    url_ = "sqlite:" + sqlite_path_;
    return;
  }
  if (backend_ != kPostgresqlBackend) {
    throw std::runtime_error("test database: unknown backend '" + backend_ + "'");
  }
  std::optional<std::string> server = PgUrlFromEnv();
  if (!server) throw std::runtime_error("test database: MLJOBS_TEST_PG_URL is not set");
  pg_server_url_ = *server;
  pg_database_ = "mljobs_t_" + RandomSuffix();
  PgQuery(pg_server_url_, "CREATE DATABASE " + pg_database_);
  url_ = WithDatabase(pg_server_url_, pg_database_);
}

TestDatabase::~TestDatabase() {
  if (!sqlite_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(sqlite_dir_, ignored);
  }
  if (!pg_database_.empty()) {
    try {
      PgQuery(pg_server_url_, "DROP DATABASE IF EXISTS " + pg_database_ + " WITH (FORCE)");
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

std::vector<TestDatabase::Row> TestDatabase::Query(const std::string& sql) const {
  if (backend_ == kSqliteBackend) return SqliteQuery(sqlite_path_, sql);
  return PgQuery(url_, sql);
}

void StoreTest::SetUp() {
  if (auto why = BackendUnavailable(GetParam())) GTEST_SKIP() << *why;
  database_ = std::make_unique<TestDatabase>(GetParam());
  store_ = OpenTestStore(database_->url(), io_);
  Run(store_->Migrate());
}

void StoreTest::TearDown() {
  // The store first: its connections must be gone before the database is removed.
  store_.reset();
  database_.reset();
}

OpenedStore StoreTest::OpenAnotherStore(const store::StoreOptions& options) {
  return OpenTestStore(database_->url(), io_, options);
}

OpenedStore OpenTestStore(const std::string& url, boost::asio::io_context& io,
                          const store::StoreOptions& options) {
  return OpenedStore(store::OpenBackend(url, io.get_executor(), options));
}

}  // namespace mljobs::testing

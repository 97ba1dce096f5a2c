#include "store/sqlite/sqlite_admin_store.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <map>

#include "common/error.hpp"
#include "jobs/time_format.hpp"
#include "store/sqlite/sqlite_admin_statements.hpp"
#include "store/sqlite/sqlite_list_sql.hpp"
#include "store/sqlite/sqlite_queue_statements.hpp"
#include "store/sqlite/sqlite_stats_statements.hpp"

namespace mljobs::store::sqlite {
namespace {

constexpr jobs::Micros kDayMicros = 24LL * 3600 * 1'000'000;

template <typename Sql>
Statement Run(Connection& connection, const Sql& sql) {
  return connection.Prepare(sql.sql());
}

// Hits and misses of this connection's page cache since it was opened.
std::optional<double> CacheHitRatio(Connection& connection) {
  int hit = 0, miss = 0, high = 0;
  sqlite3_db_status(connection.handle(), SQLITE_DBSTATUS_CACHE_HIT, &hit, &high, 0);
  sqlite3_db_status(connection.handle(), SQLITE_DBSTATUS_CACHE_MISS, &miss, &high, 0);
  if (hit + miss == 0) return std::nullopt;
  return static_cast<double>(hit) / static_cast<double>(hit + miss);
}

// Adds one EXPLAIN QUERY PLAN row's detail to `out`: index use or a full scan.
void AddPlanLine(jobs::ExplainResult& out, const std::string& detail) {
  out.plan += detail + "\n";
  if (detail.find("USING INDEX") != std::string::npos ||
      detail.find("USING COVERING INDEX") != std::string::npos ||
      detail.find("USING INTEGER PRIMARY KEY") != std::string::npos ||
      detail.find("USING ROWID SEARCH") != std::string::npos) {
    out.uses_index = true;
  } else if (detail.starts_with("SCAN ") && detail.find("VIRTUAL TABLE") == std::string::npos) {
    // A virtual table (json_each over a bound array) is no table scan.
    out.seq_scans.push_back(detail.substr(5, detail.find(' ', 5) - 5));
  }
}

// Representative claim parameters: a 30 s lease, 10 jobs, any model.
void BindClaim(Statement& statement, jobs::Micros now) {
  statement.BindInt64(":now", now);
  statement.BindInt64(":lease", kExplainLeaseMicros);
  statement.BindText(":worker", "explain");
  statement.BindInt64(":limit", kExplainClaimLimit);
  statement.BindNull(":models");
}

}  // namespace

asio::awaitable<jobs::DbHealth> SqliteAdminStore::Health(obs::RequestStats& stats) {
  jobs::DbHealth health = co_await db_.OnReader([&](Connection& connection) {
    jobs::DbHealth out;
    std::map<std::string, std::int64_t> bytes;
    {
      StatementTimer timer(stats, kHealthPages.name);
      Statement pages = Run(connection, kHealthPages);
      while (pages.Step()) bytes[pages.Text(0)] = pages.Int64(1);
      timer.Done(static_cast<std::int64_t>(bytes.size()));
    }
    std::map<std::string, std::int64_t> estimates;
    {
      StatementTimer timer(stats, kHealthHasStat1.name);
      Statement has = Run(connection, kHealthHasStat1);
      const bool analysed = has.Step();
      timer.Done(analysed ? 1 : 0);
      if (analysed) {
        StatementTimer rows_timer(stats, kHealthRowEstimates.name);
        Statement rows = Run(connection, kHealthRowEstimates);
        while (rows.Step()) estimates[rows.Text(0)] = rows.Int64(1);
        rows_timer.Done(static_cast<std::int64_t>(estimates.size()));
      }
    }
    {
      StatementTimer timer(stats, kHealthSchema.name);
      Statement schema = Run(connection, kHealthSchema);
      std::int64_t rows = 0;
      while (schema.Step()) {
        ++rows;
        const std::string type = schema.Text(0), name = schema.Text(1), table = schema.Text(2);
        const std::int64_t size = bytes.count(name) ? bytes[name] : 0;
        if (type == "table") {
          jobs::TableHealth t;
          t.name = name;
          t.heap_bytes = size;
          t.total_bytes = size;
          if (estimates.count(name)) t.row_estimate = estimates[name];
          out.tables.push_back(std::move(t));
          continue;
        }
        jobs::IndexHealth x;
        x.name = name;
        x.table = table;
        x.size_bytes = size;
        out.indexes.push_back(std::move(x));
        // Tables sort before their indexes (type DESC), so the table is already listed.
        for (jobs::TableHealth& t : out.tables) {
          if (t.name != table) continue;
          t.index_bytes += size;
          t.total_bytes += size;
        }
      }
      timer.Done(rows);
    }
    {
      StatementTimer timer(stats, kHealthFile.name);
      Statement file = Run(connection, kHealthFile);
      file.Step();
      out.page_size = file.Int64(0);
      out.page_count = file.Int64(1);
      out.freelist_pages = file.Int64(2);
      timer.Done(1);
    }
    out.cache_hit_ratio = CacheHitRatio(connection);
    return out;
  });
  std::error_code ec;
  const auto wal = std::filesystem::file_size(db_.path() + "-wal", ec);
  health.wal_bytes = ec ? 0 : static_cast<std::int64_t>(wal);
  co_return health;
}

asio::awaitable<std::optional<jobs::ExplainResult>> SqliteAdminStore::Explain(
    obs::RequestStats& stats, jobs::ExplainTarget target) {
  const jobs::Micros now = jobs::NowMicros();
  switch (target) {
    case jobs::ExplainTarget::kFirstPage:
    case jobs::ExplainTarget::kDeepPage:
    case jobs::ExplainTarget::kPending:
    case jobs::ExplainTarget::kDateRange:
      break;
    case jobs::ExplainTarget::kClaim:
      co_return co_await ExplainClaim(stats, now);
    case jobs::ExplainTarget::kStatusCount:
      co_return co_await ExplainStatusCount(stats, now);
  }
  jobs::ListQuery query = jobs::ExplainListQuery(target, now);
  const std::string explain_name = "explain_" + std::string(jobs::ExplainTargetName(target));
  co_return co_await db_.OnReader([&](Connection& connection) {
    if (target == jobs::ExplainTarget::kDeepPage) {
      StatementTimer timer(stats, kExplainDeepPosition.name);
      Statement middle = Run(connection, kExplainDeepPosition);
      const bool found = middle.Step();
      if (found) query.after = jobs::Position{middle.Int64(0), middle.Int64(1)};
      timer.Done(found ? 1 : 0);
    }
    const HeavyColumns heavy = HeavyColumns::For(query.fields);
    jobs::ExplainResult out;
    out.statement = std::string(kListJobs);
    out.sql = ListSql(query.filter, query.order, query.after.has_value(), heavy);
    {
      StatementTimer timer(stats, explain_name);
      Statement plan = connection.Prepare("EXPLAIN QUERY PLAN " + out.sql);
      BindList(plan, query.filter, query.after, query.limit + 1);
      std::int64_t rows = 0;
      while (plan.Step()) {
        ++rows;
        AddPlanLine(out, plan.Text(3));
      }
      timer.Done(rows);
    }
    // SQLite has no EXPLAIN ANALYZE: run the statement itself and time it.
    StatementTimer timer(stats, kListJobs);
    const auto start = std::chrono::steady_clock::now();
    Statement list = connection.Prepare(out.sql);
    BindList(list, query.filter, query.after, query.limit + 1);
    std::int64_t rows = 0;
    while (list.Step()) ++rows;
    out.execution_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    timer.Done(rows);
    return std::optional<jobs::ExplainResult>(std::move(out));
  });
}

}  // namespace mljobs::store::sqlite

namespace mljobs::store::sqlite {

// The plan on a reader; the timing runs the claim on the writer inside a transaction that
// is rolled back, so no job changes.
asio::awaitable<std::optional<jobs::ExplainResult>> SqliteAdminStore::ExplainClaim(
    obs::RequestStats& stats, jobs::Micros now) {
  jobs::ExplainResult out;
  out.statement = std::string(kClaimJobs.name);
  out.sql = std::string(kClaimJobs.sql());
  co_await db_.OnReader([&](Connection& connection) {
    StatementTimer timer(stats, "explain_claim");
    Statement plan = connection.Prepare("EXPLAIN QUERY PLAN " + out.sql);
    BindClaim(plan, now);
    std::int64_t rows = 0;
    for (; plan.Step(); ++rows) AddPlanLine(out, plan.Text(3));
    timer.Done(rows);
  });
  out.execution_ms = co_await db_.OnWriter([&](Connection& connection) {
    StatementTimer timer(stats, kClaimJobs.name);
    const auto start = std::chrono::steady_clock::now();
    Transaction transaction(connection);  // never committed: rolled back when it ends
    Statement claim = connection.Prepare(kClaimJobs.sql());
    BindClaim(claim, now);
    std::int64_t rows = 0;
    while (claim.Step()) ++rows;
    timer.Done(rows);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  });
  co_return out;
}

// GET /jobs/stats: the plan, then one timed run, both on a reader.
asio::awaitable<std::optional<jobs::ExplainResult>> SqliteAdminStore::ExplainStatusCount(
    obs::RequestStats& stats, jobs::Micros now) {
  jobs::ExplainResult out;
  out.statement = std::string(kStatsSnapshot.name);
  out.sql = std::string(kStatsSnapshot.sql());
  co_await db_.OnReader([&](Connection& connection) {
    {
      StatementTimer timer(stats, "explain_status_count");
      Statement plan = connection.Prepare("EXPLAIN QUERY PLAN " + out.sql);
      plan.BindInt64(":since", now - kDayMicros);
      std::int64_t rows = 0;
      for (; plan.Step(); ++rows) AddPlanLine(out, plan.Text(3));
      timer.Done(rows);
    }
    StatementTimer timer(stats, kStatsSnapshot.name);
    const auto start = std::chrono::steady_clock::now();
    Statement snapshot = connection.Prepare(out.sql);
    snapshot.BindInt64(":since", now - kDayMicros);
    std::int64_t rows = 0;
    while (snapshot.Step()) ++rows;
    out.execution_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    timer.Done(rows);
  });
  co_return out;
}

}  // namespace mljobs::store::sqlite

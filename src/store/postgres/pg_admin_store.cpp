#include "store/postgres/pg_admin_store.hpp"

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/error.hpp"
#include "jobs/time_format.hpp"
#include "store/postgres/pg_admin_statements.hpp"
#include "store/postgres/pg_list_sql.hpp"
#include "store/postgres/pg_queue_statements.hpp"
#include "store/postgres/pg_stats_statements.hpp"

namespace mljobs::store::postgres {
namespace {

namespace json = boost::json;

constexpr jobs::Micros kDayMicros = 24LL * 3600 * 1'000'000;

std::optional<std::int64_t> OptionalInt(const PgResult& r, int row, int col) {
  if (r.IsNull(row, col)) return std::nullopt;
  return r.Int(row, col);
}

std::optional<jobs::Micros> OptionalTimestamp(const PgResult& r, int row, int col) {
  if (r.IsNull(row, col)) return std::nullopt;
  return r.Timestamp(row, col);
}

// Walks a plan node and its children: index use, full scans and their tables.
void Summarise(const json::object& node, jobs::ExplainResult& out) {
  std::string_view type = node.at("Node Type").as_string();
  if (type.find("Index") != std::string_view::npos) out.uses_index = true;
  if (type == "Seq Scan") {
    const json::value* relation = node.if_contains("Relation Name");
    out.seq_scans.emplace_back(relation ? std::string_view(relation->as_string()) : "?");
  }
  if (const json::value* plans = node.if_contains("Plans")) {
    for (const json::value& child : plans->as_array()) Summarise(child.as_object(), out);
  }
}

// The result of EXPLAIN (ANALYZE, FORMAT JSON) of `statement`, summarised.
jobs::ExplainResult FromPlan(std::string statement, std::string sql, std::string_view plan_json) {
  jobs::ExplainResult out;
  out.statement = std::move(statement);
  out.sql = std::move(sql);
  out.plan = std::string(plan_json);
  out.plan_is_json = true;
  json::value plan = json::parse(out.plan);
  const json::object& top = plan.as_array().at(0).as_object();
  Summarise(top.at("Plan").as_object(), out);
  if (const json::value* ms = top.if_contains("Execution Time")) {
    out.execution_ms = ms->to_number<double>();
  }
  return out;
}

constexpr std::string_view kExplainPrefix = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ";

}  // namespace

asio::awaitable<jobs::DbHealth> PgAdminStore::Health(obs::RequestStats& stats) {
  const std::array<PgCommand, 3> commands{Prepared(kHealthTables), Prepared(kHealthIndexes),
                                          Prepared(kHealthCache)};
  std::vector<PgResult> results;
  {
    auto conn = co_await pool_.Acquire();
    results = co_await conn->Run(stats, commands);
  }
  jobs::DbHealth health;
  const PgResult& tables = results[0];
  for (int i = 0; i < tables.Rows(); ++i) {
    jobs::TableHealth t;
    t.name = std::string(tables.Text(i, 0));
    t.heap_bytes = tables.Int(i, 1);
    t.index_bytes = tables.Int(i, 2);
    t.total_bytes = tables.Int(i, 3);
    t.row_estimate = OptionalInt(tables, i, 4);
    t.dead_tuples = OptionalInt(tables, i, 5);
    t.last_autovacuum = OptionalTimestamp(tables, i, 6);
    t.last_autoanalyze = OptionalTimestamp(tables, i, 7);
    health.tables.push_back(std::move(t));
  }
  const PgResult& indexes = results[1];
  for (int i = 0; i < indexes.Rows(); ++i) {
    jobs::IndexHealth x;
    x.name = std::string(indexes.Text(i, 0));
    x.table = std::string(indexes.Text(i, 1));
    x.size_bytes = indexes.Int(i, 2);
    x.scans = OptionalInt(indexes, i, 3);
    x.tuples_read = OptionalInt(indexes, i, 4);
    x.unused = x.scans.value_or(0) == 0 && indexes.Int(i, 5) == 0;
    health.indexes.push_back(std::move(x));
  }
  const PgResult& cache = results[2];
  if (cache.Rows() == 1 && !cache.IsNull(0, 0)) health.cache_hit_ratio = cache.Double(0, 0);
  co_return health;
}

asio::awaitable<std::optional<jobs::ExplainResult>> PgAdminStore::Explain(
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
    case jobs::ExplainTarget::kStatusCount: {
      // GET /jobs/stats: the counters table, whatever the number of jobs.
      PgParams params;
      params.AddTimestamp(now - kDayMicros);
      const std::string explain = std::string(kExplainPrefix) + std::string(kStatsSnapshot.sql);
      auto conn = co_await pool_.Acquire();
      PgResult result =
          co_await conn->Run(stats, PgCommand{"explain_status_count", explain, &params, false});
      co_return FromPlan(std::string(kStatsSnapshot.name), std::string(kStatsSnapshot.sql),
                         result.Text(0, 0));
    }
  }
  jobs::ListQuery query = jobs::ExplainListQuery(target, now);
  auto conn = co_await pool_.Acquire();
  if (target == jobs::ExplainTarget::kDeepPage) {
    PgResult middle = co_await conn->Run(stats, Prepared(kExplainDeepPosition));
    if (middle.Rows() == 1) {
      query.after = jobs::Position{middle.Timestamp(0, 0), middle.Int(0, 1)};
    }
  }
  PgQuery list = BuildListQuery(query);
  // EXPLAIN cannot be prepared under the list statement's name; it runs as the unnamed
  // statement with the same bound values, so the plan is the one the list gets.
  const std::string explain = std::string(kExplainPrefix) + list.sql;
  const std::string name = "explain_" + std::string(jobs::ExplainTargetName(target));
  PgResult result = co_await conn->Run(stats, PgCommand{name, explain, &list.params, false});
  co_return FromPlan(list.name, list.sql, result.Text(0, 0));
}

// EXPLAIN ANALYZE executes the claim: it runs in a transaction that is rolled back, so no
// job changes (pending rows it would claim are locked only for that moment). The plan is
// the one the server runs: this connection's prepared claim_jobs under a generic plan
// (kClaimJobs is generic_plan), explained through EXECUTE. Running it once first makes
// sure it is prepared here; that claim is rolled back with the rest. EXECUTE cannot take
// bound parameters, so its arguments are literals, all of them made here.
asio::awaitable<std::optional<jobs::ExplainResult>> PgAdminStore::ExplainClaim(
    obs::RequestStats& stats, jobs::Micros now) {
  // One claim of kExplainClaimLimit jobs of any model.
  const std::array<std::optional<std::string_view>, 1> workers{"explain"};
  const std::array<std::int64_t, 1> leases{kExplainLeaseMicros};
  const std::array<std::int64_t, 1> limits{kExplainClaimLimit};
  PgParams params;
  params.AddTimestamp(now);
  params.AddNullableText(std::nullopt);
  params.AddTextArray(workers);
  params.AddInt64Array(leases);
  params.AddInt64Array(limits);
  params.AddInt64(kExplainClaimLimit);
  const std::string limit = std::to_string(kExplainClaimLimit);
  const std::string explain = std::string(kExplainPrefix) + "EXECUTE " +
                              std::string(kClaimJobs.name) + "('" + jobs::FormatRfc3339(now) +
                              "', NULL, '{explain}', '{" + std::to_string(kExplainLeaseMicros) +
                              "}', '{" + limit + "}', " + limit + ")";
  const std::array<PgCommand, 5> commands{
      PgCommand{kExplainBegin.name, kExplainBegin.sql, nullptr, false},
      PgCommand{kExplainGenericPlans.name, kExplainGenericPlans.sql, nullptr, false},
      Prepared(kClaimJobs, &params),
      PgCommand{"explain_claim", explain, nullptr, false},
      PgCommand{kExplainRollback.name, kExplainRollback.sql, nullptr, false}};
  auto conn = co_await pool_.Acquire();
  std::vector<PgResult> results = co_await conn->Run(stats, commands);
  co_return FromPlan(std::string(kClaimJobs.name), std::string(kClaimJobs.sql),
                     results[3].Text(0, 0));
}

jobs::PoolStats PgAdminStore::Pool() const {
  PgPoolStats s = pool_.Stats();
  return jobs::PoolStats{s.size,     s.in_use,      s.idle,    s.waiting,
                         s.acquired, s.timed_out, s.recycled};
}

}  // namespace mljobs::store::postgres

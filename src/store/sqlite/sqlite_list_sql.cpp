#include "store/sqlite/sqlite_list_sql.hpp"

#include <array>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace mljobs::store::sqlite {
namespace {

constexpr std::array<const char*, jobs::kStatusCount> kStatusParams = {":s0", ":s1", ":s2", ":s3",
                                                                       ":s4"};

void CheckStatuses(const jobs::JobFilter& filter) {
  if (filter.statuses.size() > kStatusParams.size()) {
    throw Error(ErrorCode::kInvalidArgument, "too many statuses in the filter");
  }
}

// The conditions every branch shares: everything but the status.
std::vector<std::string_view> CommonConditions(const jobs::JobFilter& filter) {
  std::vector<std::string_view> conditions;
  if (filter.model) conditions.push_back("model = :model");
  if (filter.owner) conditions.push_back("owner = :owner");
  if (filter.created_after) conditions.push_back("created_at >= :created_after");
  if (filter.created_before) conditions.push_back("created_at < :created_before");
  return conditions;
}

void AppendWhere(std::string& sql, std::string_view first,
                 const std::vector<std::string_view>& conditions) {
  bool any = false;
  auto add = [&](std::string_view condition) {
    sql += any ? " AND " : " WHERE ";
    sql += condition;
    any = true;
  };
  if (!first.empty()) add(first);
  for (std::string_view condition : conditions) add(condition);
}

// "status IN (:s0, ...)", or empty when the filter has no status.
std::string StatusIn(const jobs::JobFilter& filter) {
  CheckStatuses(filter);
  std::string sql;
  for (std::size_t i = 0; i < filter.statuses.size(); ++i) {
    sql += i == 0 ? "status IN (" : ", ";
    sql += kStatusParams[i];
  }
  if (!sql.empty()) sql += ")";
  return sql;
}

std::string Columns(HeavyColumns heavy) {
  std::string columns = kLightColumns;
  if (heavy.input_text) columns += ", input_text";
  if (heavy.metadata) columns += ", metadata";
  return columns;
}

// One ordered, limited index range: the whole list, or one status's branch of it.
std::string Branch(const std::string& columns, std::string_view status_condition,
                   const std::vector<std::string_view>& conditions, std::string_view order_by) {
  std::string sql = "SELECT " + columns + " FROM ml_jobs";
  AppendWhere(sql, status_condition, conditions);
  sql += order_by;
  return sql;
}

void BindFilter(Statement& statement, const jobs::JobFilter& filter) {
  for (std::size_t i = 0; i < filter.statuses.size(); ++i) {
    statement.BindText(kStatusParams[i], jobs::ToString(filter.statuses[i]));
  }
  if (filter.model) statement.BindText(":model", std::string_view(*filter.model));
  if (filter.owner) statement.BindText(":owner", std::string_view(*filter.owner));
  if (filter.created_after) statement.BindInt64(":created_after", *filter.created_after);
  if (filter.created_before) statement.BindInt64(":created_before", *filter.created_before);
}

}  // namespace

std::string ListSql(const jobs::JobFilter& filter, jobs::SortOrder order, bool has_after,
                    HeavyColumns heavy) {
  CheckStatuses(filter);
  const bool desc = order == jobs::SortOrder::kDesc;
  std::vector<std::string_view> conditions = CommonConditions(filter);
  // A row value comparison: ties in created_at are broken by id, so a page boundary inside
  // a run of equal timestamps neither skips nor repeats a row. SQLite seeks the index on it.
  if (has_after) {
    conditions.push_back(desc ? "(created_at, id) < (:after_created_at, :after_id)"
                              : "(created_at, id) > (:after_created_at, :after_id)");
  }
  const std::string_view order_by = desc ? " ORDER BY created_at DESC, id DESC LIMIT :limit"
                                         : " ORDER BY created_at ASC, id ASC LIMIT :limit";
  const std::string columns = Columns(heavy);
  if (filter.statuses.size() <= 1) {
    return Branch(columns, filter.statuses.empty() ? "" : "status = :s0", conditions, order_by);
  }
  // SQLite allows ORDER BY/LIMIT in a compound member only inside a subquery.
  std::string sql = "SELECT " + columns + " FROM (";
  for (std::size_t i = 0; i < filter.statuses.size(); ++i) {
    if (i > 0) sql += " UNION ALL ";
    sql += "SELECT * FROM (";
    sql += Branch(columns, std::string("status = ") + kStatusParams[i], conditions, order_by);
    sql += ")";
  }
  sql += ")";
  sql += order_by;
  return sql;
}

void BindList(Statement& statement, const jobs::JobFilter& filter,
              const std::optional<jobs::Position>& after, std::int64_t limit) {
  BindFilter(statement, filter);
  if (after) {
    statement.BindInt64(":after_created_at", after->created_at);
    statement.BindInt64(":after_id", after->id);
  }
  statement.BindInt64(":limit", limit);
}

std::string CountSql(const jobs::JobFilter& filter) {
  std::string sql = "SELECT count(*) FROM ml_jobs";
  AppendWhere(sql, StatusIn(filter), CommonConditions(filter));
  return sql;
}

void BindCount(Statement& statement, const jobs::JobFilter& filter) {
  BindFilter(statement, filter);
}

std::string EstimateSql(const jobs::JobFilter& filter) {
  std::string sql = "WITH RECURSIVE ";
  if (filter.created_after || filter.created_before) {
    std::vector<std::string_view> range;
    if (filter.created_after) range.push_back("created_at >= :created_after");
    if (filter.created_before) range.push_back("created_at < :created_before");
    std::string first = "SELECT id FROM ml_jobs";
    AppendWhere(first, "", range);
    std::string last = first;
    first += " ORDER BY created_at ASC, id ASC LIMIT 1";
    last += " ORDER BY created_at DESC, id DESC LIMIT 1";
    sql += "ends(a, b) AS (SELECT (" + first + "), (" + last +
           ")), "
           "domain(lo, span) AS (SELECT min(a, b), abs(b - a) + 1 FROM ends), ";
  } else {
    sql +=
        "domain(lo, span) AS (SELECT (SELECT min(id) FROM ml_jobs), "
        "(SELECT max(id) FROM ml_jobs) - (SELECT min(id) FROM ml_jobs) + 1), ";
  }
  // random() spreads the probes: a fixed stride could alias with a periodic pattern in ids.
  sql +=
      "probes(n) AS (SELECT min(:samples, span) FROM domain), "
      "sample(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM sample, probes WHERE i + 1 < n), "
      "picks(id) AS (SELECT CASE WHEN span <= :samples THEN lo + i "
      "ELSE lo + abs(random() % span) END FROM sample, domain) "
      "SELECT (SELECT span FROM domain), (SELECT n FROM probes), "
      "(SELECT count(*) FROM picks WHERE EXISTS (SELECT 1 FROM ml_jobs "
      "WHERE ml_jobs.id = picks.id";
  for (std::string_view condition : CommonConditions(filter)) {
    sql += " AND ";
    sql += condition;
  }
  if (!filter.statuses.empty()) sql += " AND " + StatusIn(filter);
  sql += "))";
  return sql;
}

void BindEstimate(Statement& statement, const jobs::JobFilter& filter) {
  BindFilter(statement, filter);
  statement.BindInt64(":samples", kEstimateSamples);
}

}  // namespace mljobs::store::sqlite

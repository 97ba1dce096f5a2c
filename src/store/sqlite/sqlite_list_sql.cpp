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

// The tables a filter reads, each with the value of the "archived" column its rows carry
// (only selected when the archive is asked for).
struct Source {
  std::string_view table;
  std::string_view archived;
};

std::vector<Source> Sources(const jobs::JobFilter& filter) {
  if (!filter.include_archived) return {{"ml_jobs", ""}};
  return {{"ml_jobs", ", 0 AS archived"}, {"ml_jobs_archive", ", 1 AS archived"}};
}

// One ordered, limited index range: the whole list, or one table's or status's branch.
std::string Branch(const std::string& columns, const Source& source,
                   std::string_view status_condition,
                   const std::vector<std::string_view>& conditions, std::string_view order_by) {
  std::string sql = "SELECT " + columns;
  sql += source.archived;
  sql += " FROM ";
  sql += source.table;
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
  const std::vector<Source> sources = Sources(filter);
  if (sources.size() == 1 && filter.statuses.size() <= 1) {
    return Branch(columns, sources[0], filter.statuses.empty() ? "" : "status = :s0", conditions,
                  order_by);
  }
  std::vector<std::string> statuses;
  for (std::size_t i = 0; i < filter.statuses.size(); ++i) {
    statuses.push_back(std::string("status = ") + kStatusParams[i]);
  }
  if (statuses.empty()) statuses.emplace_back();  // no status condition
  // SQLite allows ORDER BY/LIMIT in a compound member only inside a subquery.
  std::string sql = "SELECT * FROM (";
  bool first = true;
  for (const Source& source : sources) {
    for (const std::string& status : statuses) {
      if (!first) sql += " UNION ALL ";
      first = false;
      sql += "SELECT * FROM (" + Branch(columns, source, status, conditions, order_by) + ")";
    }
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
  std::string sql;
  for (const Source& source : Sources(filter)) {
    sql += sql.empty() ? "SELECT " : " + ";
    sql += "(SELECT count(*) FROM ";
    sql += source.table;
    AppendWhere(sql, StatusIn(filter), CommonConditions(filter));
    sql += ")";
  }
  return sql;
}

void BindCount(Statement& statement, const jobs::JobFilter& filter) {
  BindFilter(statement, filter);
}

std::string EstimateSql(const jobs::JobFilter& filter) {
  const std::vector<Source> sources = Sources(filter);
  // `make(table)` for every table read, as one compound (a table without rows adds nothing
  // to an ORDER BY ... LIMIT 1 and a NULL to an aggregate, which the aggregate ignores).
  auto each_table = [&](auto make) {
    std::string sql;
    for (const Source& source : sources) {
      if (!sql.empty()) sql += " UNION ALL ";
      sql += "SELECT * FROM (" + make(source.table) + ")";
    }
    return sql;
  };
  std::string sql = "WITH RECURSIVE ";
  if (filter.created_after || filter.created_before) {
    std::vector<std::string_view> range;
    if (filter.created_after) range.push_back("created_at >= :created_after");
    if (filter.created_before) range.push_back("created_at < :created_before");
    // The id of the range's oldest (or newest) row over the tables.
    auto end_id = [&](std::string_view direction) {
      const std::string order =
          " ORDER BY c " + std::string(direction) + ", v " + std::string(direction) + " LIMIT 1";
      return "SELECT v FROM (" + each_table([&](std::string_view table) {
               std::string one = "SELECT created_at AS c, id AS v FROM " + std::string(table);
               AppendWhere(one, "", range);
               return one + order;
             }) + ")" + order;
    };
    sql += "ends(a, b) AS (SELECT (" + end_id("ASC") + "), (" + end_id("DESC") +
           ")), "
           "domain(lo, span) AS (SELECT min(a, b), abs(b - a) + 1 FROM ends), ";
  } else {
    auto id_bound = [&](std::string_view aggregate) {
      return "SELECT " + std::string(aggregate) + "(v) FROM (" +
             each_table([&](std::string_view table) {
               return "SELECT " + std::string(aggregate) + "(id) AS v FROM " + std::string(table);
             }) + ")";
    };
    sql += "domain(lo, span) AS (SELECT (" + id_bound("min") + "), (" + id_bound("max") +
           ") - (" + id_bound("min") + ") + 1), ";
  }
  // random() spreads the probes: a fixed stride could alias with a periodic pattern in ids.
  sql +=
      "probes(n) AS (SELECT min(:samples, span) FROM domain), "
      "sample(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM sample, probes WHERE i + 1 < n), "
      "picks(id) AS (SELECT CASE WHEN span <= :samples THEN lo + i "
      "ELSE lo + abs(random() % span) END FROM sample, domain) "
      "SELECT (SELECT span FROM domain), (SELECT n FROM probes), "
      "(SELECT count(*) FROM picks WHERE ";
  // A job is in exactly one table, so a pick matches at most once.
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (i > 0) sql += " OR ";
    const std::string table(sources[i].table);
    sql += "EXISTS (SELECT 1 FROM " + table + " WHERE " + table + ".id = picks.id";
    for (std::string_view condition : CommonConditions(filter)) {
      sql += " AND ";
      sql += condition;
    }
    if (!filter.statuses.empty()) sql += " AND " + StatusIn(filter);
    sql += ")";
  }
  sql += ")";
  return sql;
}

void BindEstimate(Statement& statement, const jobs::JobFilter& filter) {
  BindFilter(statement, filter);
  statement.BindInt64(":samples", kEstimateSamples);
}

}  // namespace mljobs::store::sqlite

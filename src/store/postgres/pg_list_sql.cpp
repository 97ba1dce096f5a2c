#include "store/postgres/pg_list_sql.hpp"

#include <vector>

#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {
namespace {

// Placeholders of one filter, numbered once and shared by every UNION ALL branch.
struct Placeholders {
  std::vector<std::string> statuses;
  std::string model, owner, created_after, created_before, position_at, position_id, limit;
};

std::string Next(PgParams& params) { return "$" + std::to_string(params.size()); }

// Binds the filter's values in a fixed order and names the shape's parts.
Placeholders Bind(const jobs::JobFilter& filter, const std::optional<jobs::Position>& after,
                  std::optional<int> limit, PgParams& params, std::string& name) {
  Placeholders p;
  name += "_s" + std::to_string(filter.statuses.size());
  for (jobs::JobStatus s : filter.statuses) {
    params.AddText(jobs::ToString(s));
    p.statuses.push_back(Next(params) + "::text");
  }
  if (filter.model) {
    params.AddText(*filter.model);
    p.model = Next(params) + "::text";
    name += "_m";
  }
  if (filter.owner) {
    params.AddText(*filter.owner);
    p.owner = Next(params) + "::text";
    name += "_o";
  }
  if (filter.created_after) {
    params.AddTimestamp(*filter.created_after);
    p.created_after = Next(params) + "::timestamptz";
    name += "_a";
  }
  if (filter.created_before) {
    params.AddTimestamp(*filter.created_before);
    p.created_before = Next(params) + "::timestamptz";
    name += "_b";
  }
  if (after) {
    params.AddTimestamp(after->created_at);
    p.position_at = Next(params) + "::timestamptz";
    params.AddInt64(after->id);
    p.position_id = Next(params) + "::int8";
    name += "_p";
  }
  if (limit) {
    params.AddInt64(*limit);
    p.limit = Next(params) + "::int8";
  }
  return p;
}

// WHERE clause of one branch; `status` is the branch's placeholder (or empty).
std::string Where(const Placeholders& p, const std::string& status, jobs::SortOrder order) {
  std::vector<std::string> conds;
  if (!status.empty()) conds.push_back("status = " + status);
  if (!p.model.empty()) conds.push_back("model = " + p.model);
  if (!p.owner.empty()) conds.push_back("owner = " + p.owner);
  if (!p.created_after.empty()) conds.push_back("created_at >= " + p.created_after);
  if (!p.created_before.empty()) conds.push_back("created_at < " + p.created_before);
  if (!p.position_at.empty()) {
    // A row-value comparison is one index range over (created_at, id): ties in
    // created_at are neither skipped nor repeated.
    conds.push_back(std::string("(created_at, id) ") +
                    (order == jobs::SortOrder::kDesc ? "<" : ">") + " (" + p.position_at + ", " +
                    p.position_id + ")");
  }
  std::string out;
  for (std::size_t i = 0; i < conds.size(); ++i) out += (i == 0 ? " WHERE " : " AND ") + conds[i];
  return out;
}

std::string OrderBy(jobs::SortOrder order) {
  return order == jobs::SortOrder::kDesc ? " ORDER BY created_at DESC, id DESC"
                                         : " ORDER BY created_at, id";
}

std::string Columns(jobs::FieldSet fields, std::string& name) {
  std::string cols = MLJOBS_PG_LIGHT_COLUMNS;
  std::string heavy;
  if (fields.Has(jobs::Field::kInputText)) {
    cols += ", input_text";
    heavy += "i";
  }
  if (fields.Has(jobs::Field::kMetadata)) {
    cols += ", metadata";
    heavy += "m";
  }
  if (!heavy.empty()) name += "_h" + heavy;
  return cols;
}

// The tables a filter reads, each with the value of the "archived" column its rows carry
// (only selected when the archive is asked for).
struct Source {
  const char* table;
  const char* archived;
};
constexpr Source kLive{"ml_jobs", ", 0 AS archived"};
constexpr Source kArchive{"ml_jobs_archive", ", 1 AS archived"};

std::vector<Source> Sources(const jobs::JobFilter& filter, std::string& name) {
  if (!filter.include_archived) return {Source{kLive.table, ""}};
  name += "_x";
  return {kLive, kArchive};
}

// One ordered scan per table and status, merged (Merge Append); a single scan when there
// is one table and at most one status.
std::string Select(const Placeholders& p, const std::vector<Source>& sources,
                   const std::string& cols, jobs::SortOrder order) {
  std::string limit = p.limit.empty() ? "" : " LIMIT " + p.limit;
  if (sources.size() == 1 && p.statuses.size() <= 1) {
    return "SELECT " + cols + " FROM " + sources[0].table +
           Where(p, p.statuses.empty() ? "" : p.statuses[0], order) + OrderBy(order) + limit;
  }
  std::vector<std::string> statuses = p.statuses;
  if (statuses.empty()) statuses.emplace_back();  // no status condition
  std::string branches;
  for (const Source& source : sources) {
    for (const std::string& status : statuses) {
      if (!branches.empty()) branches += " UNION ALL ";
      branches += "(SELECT " + cols + source.archived + " FROM " + source.table +
                  Where(p, status, order) + OrderBy(order) + limit + ")";
    }
  }
  return "SELECT * FROM (" + branches + ") AS u" + OrderBy(order) + limit;
}

// The filter's conditions for a count: no order is needed, so several statuses are one IN
// list.
std::string CountWhere(const Placeholders& p) {
  std::string status;
  for (std::size_t i = 0; i < p.statuses.size(); ++i) {
    status += (i == 0 ? "" : ", ") + p.statuses[i];
  }
  Placeholders rest = p;
  rest.statuses.clear();
  std::string where = Where(rest, "", jobs::SortOrder::kDesc);
  if (!status.empty()) {
    where = (where.empty() ? " WHERE " : where + " AND ") + "status IN (" + status + ")";
  }
  return where;
}

std::string OrderName(jobs::SortOrder order) {
  return order == jobs::SortOrder::kDesc ? "_desc" : "_asc";
}

}  // namespace

PgQuery BuildListQuery(const jobs::ListQuery& query) {
  PgQuery q;
  q.name = "list";
  Placeholders p = Bind(query.filter, query.after, query.limit + 1, q.params, q.name);
  std::vector<Source> sources = Sources(query.filter, q.name);
  q.name += OrderName(query.order);
  std::string cols = Columns(query.fields, q.name);
  q.sql = Select(p, sources, cols, query.order);
  return q;
}

PgQuery BuildExportQuery(const jobs::JobFilter& filter, jobs::SortOrder order,
                         jobs::FieldSet fields) {
  PgQuery q;
  q.name = "export";
  Placeholders p = Bind(filter, std::nullopt, std::nullopt, q.params, q.name);
  std::vector<Source> sources = Sources(filter, q.name);
  q.name += OrderName(order);
  std::string cols = Columns(fields, q.name);
  q.sql = Select(p, sources, cols, order);
  return q;
}

PgQuery BuildCountQuery(const jobs::JobFilter& filter, bool estimated) {
  PgQuery q;
  q.name = estimated ? "count_estimate" : "count";
  Placeholders p = Bind(filter, std::nullopt, std::nullopt, q.params, q.name);
  std::vector<Source> sources = Sources(filter, q.name);
  const std::string where = CountWhere(p);
  // Estimated: the top node of a UNION ALL is an Append whose "Plan Rows" is the sum of
  // its branches' estimates.
  std::string sql;
  for (const Source& source : sources) {
    if (estimated) {
      sql += (sql.empty() ? "EXPLAIN (FORMAT JSON) " : " UNION ALL ");
      sql += std::string("SELECT 1 FROM ") + source.table + where;
    } else {
      sql += (sql.empty() ? "SELECT " : " + ");
      sql += std::string("(SELECT count(*) FROM ") + source.table + where + ")";
    }
  }
  q.sql = sql;
  return q;
}

}  // namespace mljobs::store::postgres

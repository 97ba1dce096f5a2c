#include "store/postgres/pg_job_store.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

#include "common/error.hpp"
#include "store/postgres/pg_job_row.hpp"
#include "store/postgres/pg_list_sql.hpp"
#include "store/postgres/pg_migrator.hpp"
#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {
namespace {

PgCommand Prepared(const PgQuery& query) {
  return PgCommand{query.name, query.sql, &query.params, true};
}

// Canonical 8-4-4-4-12 hex text. Anything else names no job, so it is answered without
// asking the server (which would reject it as invalid uuid syntax).
bool IsUuidText(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

PgParams UuidOwnerParams(std::string_view uuid, const std::optional<std::string>& owner) {
  PgParams params;
  params.AddText(uuid);
  params.AddNullableText(owner);
  return params;
}

// Rows of a list page (its extra row, the look-ahead, is left out).
std::vector<jobs::Job> ReadJobs(const PgResult& result, int max_rows) {
  PgJobReader reader(result);
  int rows = std::min(result.Rows(), max_rows);
  std::vector<jobs::Job> out;
  out.reserve(rows);
  for (int i = 0; i < rows; ++i) out.push_back(reader.Read(i));
  return out;
}

// The top plan node's "Plan Rows" in EXPLAIN (FORMAT JSON) output (it comes first).
std::int64_t PlanRows(std::string_view json) {
  constexpr std::string_view kKey = "\"Plan Rows\":";
  std::size_t at = json.find(kKey);
  if (at == std::string_view::npos) {
    throw Error(ErrorCode::kInternal, "postgresql: no \"Plan Rows\" in EXPLAIN output");
  }
  std::string number(json.substr(at + kKey.size(), 32));
  return static_cast<std::int64_t>(std::strtod(number.c_str(), nullptr));
}

}  // namespace

asio::awaitable<void> PgJobStore::Migrate() {
  auto conn = co_await pool_.Acquire();
  co_await ApplyMigrations(*conn);
}

asio::awaitable<std::string> PgJobStore::ServerSecret(obs::RequestStats& stats) {
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kServerSecret));
  if (result.Rows() == 0) {
    throw Error(ErrorCode::kInternal, "postgresql: mljobs_meta has no server_secret (migrate?)");
  }
  co_return std::string(result.Text(0, 0));
}

asio::awaitable<jobs::Job> PgJobStore::Insert(obs::RequestStats& stats, const jobs::NewJob& job) {
  PgParams params;
  params.AddText(job.uuid);
  params.AddText(job.owner);
  params.AddText(job.model);
  params.AddText(job.input_text);
  params.AddInt32(job.priority);
  params.AddNullableText(job.metadata);
  params.AddInt32(job.max_attempts);
  params.AddTimestamp(job.created_at);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kInsertJob, &params));
  co_return PgJobReader(result).Read(0);
}

asio::awaitable<void> PgJobStore::InsertBatch(obs::RequestStats& stats,
                                              std::span<const jobs::NewJob> jobs) {
  if (jobs.empty()) co_return;
  std::vector<std::optional<std::string_view>> uuids, owners, models, inputs, metadata;
  std::vector<std::int32_t> priorities, max_attempts;
  std::vector<jobs::Micros> created;
  for (const jobs::NewJob& job : jobs) {
    uuids.emplace_back(job.uuid);
    owners.emplace_back(job.owner);
    models.emplace_back(job.model);
    inputs.emplace_back(job.input_text);
    metadata.push_back(job.metadata ? std::optional<std::string_view>(*job.metadata)
                                    : std::nullopt);
    priorities.push_back(job.priority);
    max_attempts.push_back(job.max_attempts);
    created.push_back(job.created_at);
  }
  PgParams params;
  params.AddTextArray(uuids);
  params.AddTextArray(owners);
  params.AddTextArray(models);
  params.AddTextArray(inputs);
  params.AddInt32Array(priorities);
  params.AddTextArray(metadata);
  params.AddInt32Array(max_attempts);
  params.AddTimestampArray(created);

  auto conn = co_await pool_.Acquire();
  try {
    co_await conn->Run(stats, Prepared(kInsertJobs, &params));
  } catch (const Error& e) {
    // The batch contract: a collision is the client's mistake, reported as such.
    if (e.code() != ErrorCode::kConflict) throw;
    throw Error(ErrorCode::kInvalidArgument, e.what());
  }
}

asio::awaitable<std::optional<jobs::Job>> PgJobStore::Get(obs::RequestStats& stats,
                                                          std::string_view uuid,
                                                          const std::optional<std::string>& owner) {
  if (!IsUuidText(uuid)) co_return std::nullopt;
  PgParams params = UuidOwnerParams(uuid, owner);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(kGetJob, &params));
  if (result.Rows() == 0) co_return std::nullopt;
  co_return PgJobReader(result).Read(0);
}

asio::awaitable<jobs::CancelResult> PgJobStore::Cancel(obs::RequestStats& stats,
                                                       std::string_view uuid,
                                                       const std::optional<std::string>& owner,
                                                       jobs::Micros now) {
  jobs::CancelResult out;
  if (!IsUuidText(uuid)) co_return out;
  PgParams params = UuidOwnerParams(uuid, owner);
  params.AddTimestamp(now);
  auto conn = co_await pool_.Acquire();
  PgResult updated = co_await conn->Run(stats, Prepared(kCancelJob, &params));
  if (updated.Rows() == 1) {
    out.outcome = jobs::CancelOutcome::kCancelled;
    out.job = PgJobReader(updated).Read(0);
    co_return out;
  }
  // Only on the unhappy path: absent (or another owner's) versus already finished.
  PgParams get = UuidOwnerParams(uuid, owner);
  PgResult current = co_await conn->Run(stats, Prepared(kGetJob, &get));
  if (current.Rows() == 0) co_return out;
  out.outcome = jobs::CancelOutcome::kNotCancellable;
  out.job = PgJobReader(current).Read(0);
  co_return out;
}

asio::awaitable<jobs::Page> PgJobStore::List(obs::RequestStats& stats,
                                             const jobs::ListQuery& query) {
  PgQuery sql = BuildListQuery(query);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(sql));
  jobs::Page page;
  page.jobs = ReadJobs(result, query.limit);
  page.has_more = result.Rows() > query.limit;
  co_return page;
}

asio::awaitable<jobs::CountResult> PgJobStore::Count(obs::RequestStats& stats,
                                                     const jobs::JobFilter& filter,
                                                     bool estimated) {
  PgQuery sql = BuildCountQuery(filter, estimated);
  auto conn = co_await pool_.Acquire();
  PgResult result = co_await conn->Run(stats, Prepared(sql));
  jobs::CountResult count;
  count.is_estimate = estimated;
  count.total = estimated ? PlanRows(result.Text(0, 0)) : result.Int(0, 0);
  co_return count;
}

asio::awaitable<void> PgJobStore::Export(obs::RequestStats& stats, const jobs::JobFilter& filter,
                                         jobs::SortOrder order, jobs::FieldSet fields,
                                         int chunk_rows, const jobs::ExportSink& sink) {
  chunk_rows = std::max(chunk_rows, 1);
  PgQuery query = BuildExportQuery(filter, order, fields);
  // DECLARE and FETCH cannot take a prepared name; the chunk size is our own integer.
  std::string declare =
      "DECLARE " + std::string(kExportCursor) + " NO SCROLL CURSOR FOR " + query.sql;
  std::string fetch =
      "FETCH FORWARD " + std::to_string(chunk_rows) + " FROM " + std::string(kExportCursor);
  const PgCommand begin{kExportBegin.name, kExportBegin.sql, nullptr, false};
  const PgCommand open{kExportDeclareName, declare, &query.params, false};
  const PgCommand next{kExportFetchName, fetch, nullptr, false};

  auto conn = co_await pool_.Acquire();
  // BEGIN, DECLARE and the first FETCH share one round trip.
  const std::array<PgCommand, 3> opening{begin, open, next};
  std::vector<PgResult> first = co_await conn->Run(stats, opening);
  PgResult chunk = std::move(first[2]);
  bool stopped = false;
  std::vector<jobs::Job> jobs;  // reused: each chunk overwrites the previous one's jobs
  while (true) {
    int rows = chunk.Rows();
    if (rows > 0) {
      PgJobReader reader(chunk);
      jobs.resize(static_cast<std::size_t>(rows));
      for (int i = 0; i < rows; ++i) reader.ReadInto(i, jobs[static_cast<std::size_t>(i)]);
      chunk = PgResult();  // hold one chunk at a time
      if (!co_await sink(jobs)) {
        stopped = true;
        break;
      }
    }
    if (rows < chunk_rows) break;
    chunk = co_await conn->Run(stats, next);
  }
  const PgStatement& end = stopped ? kExportRollback : kExportCommit;
  co_await conn->Run(stats, PgCommand{end.name, end.sql, nullptr, false});
}

asio::awaitable<void> PgJobStore::Ping(obs::RequestStats& stats) {
  auto conn = co_await pool_.Acquire();
  co_await conn->Run(stats, Prepared(kPing));
}

}  // namespace mljobs::store::postgres

#include "store/sqlite/sqlite_job_store.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/error.hpp"
#include "store/sqlite/sqlite_job_row.hpp"
#include "store/sqlite/sqlite_list_sql.hpp"
#include "store/sqlite/sqlite_migrations.hpp"
#include "store/sqlite/sqlite_migrator.hpp"
#include "store/sqlite/sqlite_statements.hpp"

namespace mljobs::store::sqlite {
namespace {

void BindNewJob(Statement& statement, const jobs::NewJob& job) {
  statement.BindText(":uuid", job.uuid);
  statement.BindText(":owner", job.owner);
  statement.BindText(":model", job.model);
  statement.BindText(":input_text", job.input_text);
  statement.BindInt64(":priority", job.priority);
  statement.BindOptionalText(":metadata", job.metadata);
  statement.BindInt64(":max_attempts", job.max_attempts);
  statement.BindInt64(":created_at", job.created_at);
}

// One list page or export chunk: limit + 1 rows are read to learn has_more without a count.
jobs::Page ReadPage(Connection& connection, obs::RequestStats& stats, std::string_view name,
                    const jobs::JobFilter& filter, jobs::SortOrder order,
                    const std::optional<jobs::Position>& after, int limit, HeavyColumns heavy) {
  StatementTimer timer(stats, name);
  Statement statement = connection.Prepare(ListSql(filter, order, after.has_value(), heavy));
  BindList(statement, filter, after, static_cast<std::int64_t>(limit) + 1);
  // With include_archived, `archived` follows the heavy columns (see ListSql).
  const int archived_column = kLightColumnCount + heavy.input_text + heavy.metadata;
  jobs::Page page;
  page.jobs.reserve(static_cast<std::size_t>(limit));
  std::int64_t rows = 0;
  while (statement.Step()) {
    ++rows;
    if (page.jobs.size() == static_cast<std::size_t>(limit)) {
      page.has_more = true;
      break;
    }
    page.jobs.push_back(ReadJob(statement, heavy));
    if (filter.include_archived) page.jobs.back().archived = statement.Int64(archived_column) != 0;
  }
  timer.Done(rows);
  return page;
}

std::optional<jobs::Job> ReadOptionalJob(Statement& statement) {
  if (!statement.Step()) return std::nullopt;
  return ReadJob(statement, HeavyColumns::All());
}

void CheckPositive(int value, const char* what) {
  if (value < 1) throw Error(ErrorCode::kInvalidArgument, std::string(what) + " must be >= 1");
}

}  // namespace

SqliteJobStore::SqliteJobStore(SqliteDatabase& db) : db_(db) {}

asio::awaitable<void> SqliteJobStore::Migrate() {
  co_await db_.OnWriter([](Connection& connection) { ApplyMigrations(connection, Migrations()); });
}

asio::awaitable<std::string> SqliteJobStore::ServerSecret(obs::RequestStats& stats) {
  co_return co_await db_.OnReader([&](Connection& connection) {
    StatementTimer timer(stats, kServerSecret.name);
    Statement statement = connection.Prepare(kServerSecret.sql());
    if (!statement.Step()) {
      throw Error(ErrorCode::kInternal, "sqlite: no server_secret in mljobs_meta (not migrated?)");
    }
    std::string secret = statement.Text(0);
    timer.Done(1);
    return secret;
  });
}

asio::awaitable<jobs::Job> SqliteJobStore::Insert(obs::RequestStats& stats,
                                                  const jobs::NewJob& job) {
  jobs::Job job_row = co_await db_.OnWriter([&](Connection& connection) {
    StatementTimer timer(stats, kInsertJob.name);
    Statement statement = connection.Prepare(kInsertJob.sql());
    BindNewJob(statement, job);
    std::optional<jobs::Job> stored = ReadOptionalJob(statement);
    if (!stored) throw Error(ErrorCode::kInternal, "sqlite: INSERT ... RETURNING gave no row");
    // Runs the statement to its end, which commits it (autocommit).
    statement.Step();
    timer.Done(1);
    return std::move(*stored);
  });
  db_.new_jobs().Notify();  // committed: wake long-polling claims
  co_return job_row;
}

asio::awaitable<void> SqliteJobStore::InsertBatch(obs::RequestStats& stats,
                                                  std::span<const jobs::NewJob> jobs) {
  if (jobs.empty()) co_return;
  co_await db_.OnWriter([&](Connection& connection) {
    // One prepared statement executed once per row inside one transaction, recorded as one
    // logical statement: SQLite runs in-process, so a multi-row INSERT would save no round
    // trips, only bind-parameter limits and a longer SQL text per batch size.
    StatementTimer timer(stats, kInsertJobsBatch.name);
    Transaction transaction(connection);
    Statement statement = connection.Prepare(kInsertJobsBatch.sql());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      BindNewJob(statement, jobs[i]);
      try {
        statement.Step();
      } catch (const Error& e) {
        // The contract: a collision or constraint in a batch is the client's input.
        if (e.code() != ErrorCode::kConflict && e.code() != ErrorCode::kInvalidArgument) throw;
        throw Error(ErrorCode::kInvalidArgument,
                    "jobs[" + std::to_string(i) + "]: " + e.what() + "; nothing inserted");
      }
      statement.Reset();
    }
    transaction.Commit();
    timer.Done(static_cast<std::int64_t>(jobs.size()));
  });
  db_.new_jobs().Notify();  // committed: wake long-polling claims
}

asio::awaitable<std::optional<jobs::Job>> SqliteJobStore::Get(
    obs::RequestStats& stats, std::string_view uuid, const std::optional<std::string>& owner) {
  co_return co_await db_.OnReader([&](Connection& connection) {
    StatementTimer timer(stats, kGetJob.name);
    Statement statement = connection.Prepare(kGetJob.sql());
    statement.BindText(":uuid", uuid);
    statement.BindOptionalText(":owner", owner);
    std::optional<jobs::Job> job = ReadOptionalJob(statement);
    if (job) job->archived = statement.Int64(kLightColumnCount + 2) != 0;
    timer.Done(job ? 1 : 0);
    return job;
  });
}

asio::awaitable<jobs::CancelResult> SqliteJobStore::Cancel(obs::RequestStats& stats,
                                                           std::string_view uuid,
                                                           const std::optional<std::string>& owner,
                                                           jobs::Micros now) {
  co_return co_await db_.OnWriter([&](Connection& connection) {
    jobs::CancelResult result;
    {
      StatementTimer timer(stats, kCancelJob.name);
      Statement statement = connection.Prepare(kCancelJob.sql());
      statement.BindInt64(":now", now);
      statement.BindText(":uuid", uuid);
      statement.BindOptionalText(":owner", owner);
      result.job = ReadOptionalJob(statement);
      if (result.job) {
        statement.Step();  // to the end: commits
        timer.Done(1);
        result.outcome = jobs::CancelOutcome::kCancelled;
        return result;
      }
      timer.Done(0);
    }
    // Nothing changed: absent (or another owner's), or already finished. All writes of this
    // store run on this thread, so only another process could change the row in between,
    // and a finished job stays finished.
    StatementTimer timer(stats, kCancelLookup.name);
    Statement statement = connection.Prepare(kCancelLookup.sql());
    statement.BindText(":uuid", uuid);
    statement.BindOptionalText(":owner", owner);
    result.job = ReadOptionalJob(statement);
    timer.Done(result.job ? 1 : 0);
    result.outcome =
        result.job ? jobs::CancelOutcome::kNotCancellable : jobs::CancelOutcome::kNotFound;
    return result;
  });
}

asio::awaitable<jobs::Page> SqliteJobStore::List(obs::RequestStats& stats,
                                                 const jobs::ListQuery& query) {
  CheckPositive(query.limit, "limit");
  co_return co_await db_.OnReader([&](Connection& connection) {
    return ReadPage(connection, stats, kListJobs, query.filter, query.order, query.after,
                    query.limit, HeavyColumns::For(query.fields));
  });
}

asio::awaitable<jobs::CountResult> SqliteJobStore::Count(obs::RequestStats& stats,
                                                         const jobs::JobFilter& filter,
                                                         bool estimated) {
  if (!estimated) {
    co_return co_await db_.OnReader([&](Connection& connection) {
      StatementTimer timer(stats, kCountJobs);
      Statement statement = connection.Prepare(CountSql(filter));
      BindCount(statement, filter);
      statement.Step();
      jobs::CountResult count{statement.Int64(0), false};
      timer.Done(1);
      return count;
    });
  }
  // A random sample of rows read by primary key (see EstimateSql): no scan, and no reliance
  // on ANALYZE statistics, which SQLite does not keep per value (no STAT4 here).
  co_return co_await db_.OnReader([&](Connection& connection) {
    StatementTimer timer(stats, kEstimateJobs);
    Statement statement = connection.Prepare(EstimateSql(filter));
    BindEstimate(statement, filter);
    statement.Step();
    const std::int64_t span = statement.OptionalInt64(0).value_or(0);
    const std::int64_t samples = statement.OptionalInt64(1).value_or(0);
    const std::int64_t matches = statement.Int64(2);
    timer.Done(1);
    if (samples <= 0) return jobs::CountResult{0, true};
    const double estimate =
        static_cast<double>(matches) * static_cast<double>(span) / static_cast<double>(samples);
    return jobs::CountResult{std::llround(estimate), true};
  });
}

asio::awaitable<void> SqliteJobStore::Export(obs::RequestStats& stats,
                                             const jobs::JobFilter& filter, jobs::SortOrder order,
                                             jobs::FieldSet fields, int chunk_rows,
                                             const jobs::ExportSink& sink) {
  CheckPositive(chunk_rows, "chunk_rows");
  const HeavyColumns heavy = HeavyColumns::For(fields);
  // Keyset chunks, each a short read of its own: no transaction or cursor stays open while
  // the sink writes to a slow client, and every row present when the export started is
  // handed over exactly once, whatever is inserted meanwhile.
  std::optional<jobs::Position> after;
  while (true) {
    jobs::Page chunk = co_await db_.OnReader([&](Connection& connection) {
      return ReadPage(connection, stats, kExportJobsChunk, filter, order, after, chunk_rows, heavy);
    });
    if (chunk.jobs.empty()) co_return;
    after = jobs::Position{chunk.jobs.back().created_at, chunk.jobs.back().id};
    if (!co_await sink(chunk.jobs) || !chunk.has_more) co_return;
  }
}

asio::awaitable<void> SqliteJobStore::Ping(obs::RequestStats& stats) {
  co_await db_.OnReader([&](Connection& connection) {
    StatementTimer timer(stats, kPing.name);
    Statement statement = connection.Prepare(kPing.sql());
    statement.Step();
    timer.Done(1);
  });
}

}  // namespace mljobs::store::sqlite

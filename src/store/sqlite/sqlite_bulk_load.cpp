#include "store/sqlite/sqlite_bulk_load.hpp"

#include <sqlite3.h>

#include "common/error.hpp"
#include "store/sqlite/sqlite_error.hpp"
#include "store/sqlite/sqlite_statements.hpp"

namespace mljobs::store::sqlite {
namespace {

// Every column but id, by position (?1..?20): binding by name would look each name up for
// every value of millions of rows.
inline constexpr auto kSeedInsert = MakeSql(
    "seed_insert",
    "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, priority, result_label, "
    "result_score, error, metadata, attempts, max_attempts, run_after, lease_token, "
    "lease_expires_at, worker, created_at, started_at, completed_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19, ?20)");
inline constexpr auto kSeedIsEmpty =
    MakeSql("seed_is_empty", "SELECT NOT EXISTS (SELECT 1 FROM ml_jobs)");
// Every index of ml_jobs written in SQL (automatic ones have no sql and cannot be dropped).
inline constexpr auto kSeedSecondaryIndexes =
    MakeSql("seed_secondary_indexes",
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ml_jobs' "
            "AND sql IS NOT NULL ORDER BY name");
// A bounded sample per index: the planner needs the shape of the data, not exact counts,
// and a full ANALYZE would read every index of millions of rows again.
inline constexpr auto kSeedAnalyze =
    MakeSql("seed_analyze", "PRAGMA analysis_limit = 1000; ANALYZE ml_jobs");
// Counting triggers (migration 0003) skip rows while this key exists; set and removed inside
// the load's transaction, so no other writer ever sees counting paused. The loader's own
// tally is added to the counters before the commit (kSeedAddCounter).
inline constexpr auto kSeedPauseCounters =
    MakeSql("seed_pause_counters",
            "INSERT OR REPLACE INTO mljobs_meta (key, value) VALUES ('counters_paused', '1')");
inline constexpr auto kSeedResumeCounters =
    MakeSql("seed_resume_counters", "DELETE FROM mljobs_meta WHERE key = 'counters_paused'");
inline constexpr auto kSeedRunBuckets =
    MakeSql("seed_run_buckets", "SELECT upper_us FROM ml_jobs_run_buckets ORDER BY upper_us");
// One row of the load's CounterTally added to the counters (shard 0).
inline constexpr auto kSeedAddCounter = MakeSql(
    "seed_add_counters",
    "INSERT INTO ml_jobs_counters "
    "(metric, status, model, hour, bucket, archive_month, shard, jobs, micros) "
    "VALUES (:metric, :status, :model, :hour, :bucket, 0, 0, :jobs, :micros) "
    "ON CONFLICT (metric, hour, status, model, bucket, archive_month, shard) "
    "DO UPDATE SET jobs = jobs + excluded.jobs, micros = micros + excluded.micros");
inline constexpr std::string_view kSeedDropIndex = "seed_drop_index";
inline constexpr std::string_view kSeedCreateIndex = "seed_create_index";

// A load is one transaction, so durability of each step buys nothing: a crash loses the
// whole load either way (the WAL keeps the file consistent). The larger page cache keeps
// the tables' right edge and the index sorts in memory. journal_mode stays WAL: switching
// it needs the database to itself, and a server may have it open.
constexpr std::int64_t kLoadSynchronous = 0;      // OFF
constexpr std::int64_t kLoadCacheSize = -262144;  // KiB: 256 MiB
// Sorter helper threads for the index builds after the load (the machine's 2 cores: the
// builds are the seed's largest phase after the inserts). Capped by SQLite itself.
constexpr std::int64_t kLoadSorterThreads = 2;

std::int64_t PragmaValue(Connection& connection, const char* pragma) {
  Statement statement = connection.Prepare(std::string("PRAGMA ") + pragma);
  statement.Step();
  return statement.Int64(0);
}

void SetPragma(Connection& connection, const char* pragma, std::int64_t value) {
  connection.Exec(std::string("PRAGMA ") + pragma + " = " + std::to_string(value));
}

// An identifier from the catalog, quoted for DDL (identifiers cannot be bound).
std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void Check(sqlite3_stmt* stmt, int rc, const char* what) {
  if (rc != SQLITE_OK) ThrowSqliteError(sqlite3_db_handle(stmt), rc, what);
}

// SQLITE_STATIC: every value outlives the step that reads it (the row is bound, stepped
// and reset before the span moves on).
void BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  Check(stmt,
        sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8),
        "bind text");
}

void BindOptionalText(sqlite3_stmt* stmt, int index, const std::optional<std::string>& text) {
  if (text) {
    BindText(stmt, index, *text);
  } else {
    Check(stmt, sqlite3_bind_null(stmt, index), "bind null");
  }
}

void BindInt64(sqlite3_stmt* stmt, int index, std::int64_t value) {
  Check(stmt, sqlite3_bind_int64(stmt, index, value), "bind int");
}

void BindOptionalInt64(sqlite3_stmt* stmt, int index, const std::optional<std::int64_t>& value) {
  if (value) {
    BindInt64(stmt, index, *value);
  } else {
    Check(stmt, sqlite3_bind_null(stmt, index), "bind null");
  }
}

void BindRow(sqlite3_stmt* stmt, const jobs::Job& job) {
  BindText(stmt, 1, job.uuid);
  BindText(stmt, 2, job.owner);
  BindText(stmt, 3, job.model);
  BindText(stmt, 4, job.input_text ? std::string_view(*job.input_text) : std::string_view());
  BindText(stmt, 5, jobs::ToString(job.status));
  BindInt64(stmt, 6, job.priority);
  BindOptionalText(stmt, 7, job.result_label);
  if (job.result_score) {
    Check(stmt, sqlite3_bind_double(stmt, 8, *job.result_score), "bind double");
  } else {
    Check(stmt, sqlite3_bind_null(stmt, 8), "bind null");
  }
  BindOptionalText(stmt, 9, job.error);
  BindOptionalText(stmt, 10, job.metadata);
  BindInt64(stmt, 11, job.attempts);
  BindInt64(stmt, 12, job.max_attempts);
  BindInt64(stmt, 13, job.run_after);
  BindOptionalText(stmt, 14, job.lease_token);
  BindOptionalInt64(stmt, 15, job.lease_expires_at);
  BindOptionalText(stmt, 16, job.worker);
  BindInt64(stmt, 17, job.created_at);
  BindOptionalInt64(stmt, 18, job.started_at);
  BindOptionalInt64(stmt, 19, job.completed_at);
  BindInt64(stmt, 20, job.updated_at);
}

}  // namespace

SqliteBulkLoad::~SqliteBulkLoad() {
  if (insert_ != nullptr) sqlite3_finalize(insert_);
}

// Rolls the load back (best effort: SQLite may already have rolled back on the error) and
// restores the writer's settings, so the table and its indexes are as before Begin and a
// new Begin may start over.
void SqliteBulkLoad::Abandon(Connection& connection) noexcept {
  if (insert_ != nullptr) sqlite3_finalize(insert_);
  insert_ = nullptr;
  active_ = false;
  tally_.reset();
  sqlite3_exec(connection.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  std::string restore = "PRAGMA synchronous = " + std::to_string(saved_synchronous_) +
                        "; PRAGMA cache_size = " + std::to_string(saved_cache_size_) +
                        "; PRAGMA threads = " + std::to_string(saved_threads_);
  sqlite3_exec(connection.handle(), restore.c_str(), nullptr, nullptr, nullptr);
}

asio::awaitable<bool> SqliteBulkLoad::Begin(obs::RequestStats& stats) {
  co_return co_await db_.OnWriter([&](Connection& connection) {
    if (active_) throw Error(ErrorCode::kConflict, "seed: a load is already in progress");
    saved_synchronous_ = PragmaValue(connection, "synchronous");
    saved_cache_size_ = PragmaValue(connection, "cache_size");
    saved_threads_ = PragmaValue(connection, "threads");
    active_ = true;
    try {
      SetPragma(connection, "synchronous", kLoadSynchronous);
      SetPragma(connection, "cache_size", kLoadCacheSize);
      SetPragma(connection, "threads", kLoadSorterThreads);
      // IMMEDIATE: the write lock from the start, held to the end of the load.
      connection.Exec("BEGIN IMMEDIATE");
      rows_ = 0;
      dropped_indexes_.clear();
      {
        StatementTimer timer(stats, kSeedPauseCounters.name);
        connection.Exec(std::string(kSeedPauseCounters.sql()));
        timer.Done(1);
      }
      {
        StatementTimer timer(stats, kSeedRunBuckets.name);
        Statement statement = connection.Prepare(kSeedRunBuckets.sql());
        std::vector<std::int64_t> bounds;
        while (statement.Step()) bounds.push_back(statement.Int64(0));
        timer.Done(static_cast<std::int64_t>(bounds.size()));
        tally_.emplace(std::move(bounds));
      }
      bool empty;
      {
        StatementTimer timer(stats, kSeedIsEmpty.name);
        Statement statement = connection.Prepare(kSeedIsEmpty.sql());
        statement.Step();
        empty = statement.Int64(0) == 1;
        timer.Done(1);
      }
      if (empty) {
        {
          StatementTimer timer(stats, kSeedSecondaryIndexes.name);
          Statement statement = connection.Prepare(kSeedSecondaryIndexes.sql());
          while (statement.Step())
            dropped_indexes_.emplace_back(statement.Text(0), statement.Text(1));
          timer.Done(static_cast<std::int64_t>(dropped_indexes_.size()));
        }
        for (const auto& [name, definition] : dropped_indexes_) {
          StatementTimer timer(stats, kSeedDropIndex);
          connection.Exec("DROP INDEX " + QuoteIdentifier(name));
          timer.Done(0);
        }
      }
      int rc = sqlite3_prepare_v3(connection.handle(), kSeedInsert.sql().data(),
                                  static_cast<int>(kSeedInsert.sql().size()),
                                  SQLITE_PREPARE_PERSISTENT, &insert_, nullptr);
      if (rc != SQLITE_OK) ThrowSqliteError(connection.handle(), rc, "prepare seed_insert");
      return empty;
    } catch (...) {
      Abandon(connection);
      throw;
    }
  });
}

asio::awaitable<void> SqliteBulkLoad::Append(obs::RequestStats& stats,
                                             std::span<const jobs::Job> rows) {
  if (rows.size() > kMaxAppendRows) {
    throw Error(ErrorCode::kInvalidArgument, "seed: at most 100000 rows per Append");
  }
  co_await db_.OnWriter([&](Connection& connection) {
    if (insert_ == nullptr) throw Error(ErrorCode::kInternal, "seed: Append before Begin");
    // One logical statement per call: the same insert stepped once per row.
    StatementTimer timer(stats, kSeedInsert.name);
    try {
      for (const jobs::Job& job : rows) {
        tally_->Add(job);
        BindRow(insert_, job);
        int rc = sqlite3_step(insert_);
        sqlite3_reset(insert_);
        if (rc != SQLITE_DONE) ThrowSqliteError(connection.handle(), rc, "seed_insert");
      }
    } catch (...) {
      Abandon(connection);
      throw;
    }
    rows_ += static_cast<std::int64_t>(rows.size());
    timer.Done(static_cast<std::int64_t>(rows.size()));
  });
}

asio::awaitable<std::int64_t> SqliteBulkLoad::Finish(obs::RequestStats& stats,
                                                     const jobs::BulkLoadPhaseFn& on_phase) {
  co_await db_.OnWriter([&](Connection&) {
    if (insert_ == nullptr) throw Error(ErrorCode::kInternal, "seed: Finish before Begin");
    sqlite3_finalize(insert_);
    insert_ = nullptr;
  });
  // One writer call per index, so that progress is told between them.
  for (const auto& [name, definition] : dropped_indexes_) {
    if (on_phase) on_phase("building index " + name);
    co_await db_.OnWriter([&](Connection& connection) {
      StatementTimer timer(stats, kSeedCreateIndex);
      try {
        connection.Exec(definition);  // a duplicate uuid surfaces here
      } catch (...) {
        Abandon(connection);
        throw;
      }
      timer.Done(0);
    });
  }
  if (on_phase) on_phase("counting");
  co_await db_.OnWriter([&](Connection& connection) {
    StatementTimer timer(stats, kSeedAddCounter.name);
    try {
      Statement statement = connection.Prepare(kSeedAddCounter.sql());
      std::vector<jobs::CounterRow> counters = tally_->Rows();
      for (const jobs::CounterRow& row : counters) {
        statement.BindText(":metric", row.metric);
        statement.BindText(":status", row.status);
        statement.BindText(":model", row.model);
        statement.BindInt64(":hour", row.hour);
        statement.BindInt64(":bucket", row.bucket);
        statement.BindInt64(":jobs", row.jobs);
        statement.BindInt64(":micros", row.micros);
        statement.Step();
        statement.Reset();
      }
      timer.Done(static_cast<std::int64_t>(counters.size()));
    } catch (...) {
      Abandon(connection);
      throw;
    }
  });
  if (on_phase) on_phase("analyzing");
  co_await db_.OnWriter([&](Connection& connection) {
    StatementTimer timer(stats, kSeedAnalyze.name);
    try {
      connection.Exec(std::string(kSeedAnalyze.sql()));
    } catch (...) {
      Abandon(connection);
      throw;
    }
    timer.Done(0);
  });
  if (on_phase) on_phase("committing");
  co_return co_await db_.OnWriter([&](Connection& connection) {
    try {
      StatementTimer timer(stats, kSeedResumeCounters.name);
      connection.Exec(std::string(kSeedResumeCounters.sql()));
      timer.Done(1);
      connection.Exec("COMMIT");
    } catch (...) {
      Abandon(connection);
      throw;
    }
    active_ = false;
    tally_.reset();
    SetPragma(connection, "synchronous", saved_synchronous_);
    SetPragma(connection, "cache_size", saved_cache_size_);
    SetPragma(connection, "threads", saved_threads_);
    return rows_;
  });
}

}  // namespace mljobs::store::sqlite

#include "store/postgres/pg_bulk_load.hpp"

#include <libpq-fe.h>

#include <array>
#include <bit>
#include <chrono>
#include <cstring>

#include "common/error.hpp"
#include "store/postgres/pg_error.hpp"
#include "store/postgres/pg_params.hpp"
#include "store/postgres/pg_statements.hpp"

namespace mljobs::store::postgres {
namespace {

// Names under which the load's statements are recorded. Index DDL and DROP INDEX carry
// catalog identifiers, which cannot be bound: they come from pg_get_indexdef and
// PQescapeIdentifier, never from user input.
constexpr PgStatement kSeedBegin{"seed_begin", "BEGIN"};
constexpr PgStatement kSeedCommit{"seed_commit", "COMMIT"};
constexpr std::string_view kSeedDropIndex = "seed_drop_index";
constexpr std::string_view kSeedCreateIndex = "seed_create_index";

// The sort of every index build runs in memory up to this size (per build; the load is
// one session, so this bounds the whole load) instead of spilling to disk in small runs.
constexpr PgStatement kSeedSettings{"seed_settings", "SET LOCAL maintenance_work_mem = '512MB'"};
// Rows are written with this session's triggers off, so that the statement-level counter
// trigger does not group 10M rows at the end of the COPY; the loader's own tally is added
// to the counters before the commit (kSeedAddCounters). Only this transaction is affected.
constexpr PgStatement kSeedPauseTriggers{"seed_pause_triggers",
                                         "SET LOCAL session_replication_role = replica"};
// No concurrent writer may see a half-empty table or add rows between the emptiness
// check and the COPY.
constexpr PgStatement kSeedLock{"seed_lock", "LOCK TABLE ml_jobs IN ACCESS EXCLUSIVE MODE"};
constexpr PgStatement kSeedIsEmpty{"seed_is_empty", "SELECT NOT EXISTS (SELECT 1 FROM ml_jobs)"};
// An empty table truncated in this transaction lets COPY FREEZE write rows already frozen
// and all-visible: no hint-bit rewrite or anti-wraparound VACUUM of 10M rows later, and
// index-only scans work at once.
constexpr PgStatement kSeedTruncate{"seed_truncate", "TRUNCATE ml_jobs, ml_jobs_queue"};
constexpr PgStatement kSeedLastId{"seed_last_id", "SELECT coalesce(max(id), 0) FROM ml_jobs"};
// The queue rows of the loaded pending jobs, which the paused trigger (ml_jobs_queue_sync)
// would have written. $1: max(id) before the load.
constexpr PgStatement kSeedQueue{
    "seed_queue",
    "INSERT INTO ml_jobs_queue (job_id, priority, created_at, run_after, model) "
    "SELECT id, priority, created_at, run_after, model FROM ml_jobs "
    "WHERE id > $1::int8 AND status = 'pending'"};
// Indexes that back no constraint (the primary key stays: ids are appended in order, so
// its inserts are cheap and it guards the load).
constexpr PgStatement kSeedSecondaryIndexes{
    "seed_secondary_indexes",
    "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE i.indrelid = 'ml_jobs'::regclass "
    "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
    "ORDER BY c.relname"};
constexpr PgStatement kSeedAnalyze{"seed_analyze", "ANALYZE ml_jobs"};
constexpr PgStatement kSeedRunBuckets{"seed_run_buckets",
                                      "SELECT upper_us FROM ml_jobs_run_buckets ORDER BY upper_us"};
// The load's CounterTally, one array per column, added to the counters (shard 0) in one
// statement; hours come as µs since the epoch.
constexpr PgStatement kSeedAddCounters{
    "seed_add_counters",
    "INSERT INTO ml_jobs_counters AS c "
    "(metric, status, model, hour, bucket, archive_month, shard, jobs, micros) "
    "SELECT metric, status, model, timestamptz 'epoch' + hour_us * interval '1 microsecond', "
    "bucket, 0, 0, jobs, micros "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], "
    "$7::int8[]) AS t(metric, status, model, hour_us, bucket, jobs, micros) "
    "ON CONFLICT (metric, hour, status, model, bucket, archive_month, shard) "
    "DO UPDATE SET jobs = c.jobs + EXCLUDED.jobs, micros = c.micros + EXCLUDED.micros"};

#define MLJOBS_SEED_COPY_COLUMNS                                                        \
  "(job_uuid, owner, model, input_text, status, priority, result_label, result_score, " \
  "error, metadata, attempts, max_attempts, run_after, lease_token, lease_expires_at, " \
  "worker, created_at, started_at, completed_at, updated_at)"
constexpr int kCopyFields = 20;
constexpr PgStatement kSeedCopy{
    "seed_copy", "COPY ml_jobs " MLJOBS_SEED_COPY_COLUMNS " FROM STDIN WITH (FORMAT binary)"};
constexpr PgStatement kSeedCopyFrozen{"seed_copy_frozen",
                                      "COPY ml_jobs " MLJOBS_SEED_COPY_COLUMNS
                                      " FROM STDIN WITH (FORMAT binary, FREEZE)"};

// A COPY message is sent once it holds this much, bounding the buffer.
constexpr std::size_t kCopyMessageBytes = 1 << 20;

// Binary COPY: the signature, flags and header extension length, then tuples, then -1.
constexpr char kCopySignature[] = "PGCOPY\n\377\r\n";

template <typename T>
void PutBigEndian(std::string& out, T value) {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  char bytes[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    bytes[i] = static_cast<char>((bits >> ((sizeof(T) - 1 - i) * 8)) & 0xff);
  }
  out.append(bytes, sizeof(T));
}

void PutNull(std::string& out) { PutBigEndian<std::int32_t>(out, -1); }

// Array literals for kSeedAddCounters' parameters.
void AppendArrayElement(std::string& array, std::string_view text) {
  array += array.size() > 1 ? ",\"" : "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') array.push_back('\\');
    array.push_back(c);
  }
  array.push_back('"');
}
void AppendArrayElement(std::string& array, std::int64_t value) {
  if (array.size() > 1) array.push_back(',');
  array += std::to_string(value);
}

void PutText(std::string& out, std::string_view text) {
  PutBigEndian<std::int32_t>(out, static_cast<std::int32_t>(text.size()));
  out.append(text);
}

void PutOptionalText(std::string& out, const std::optional<std::string>& text) {
  if (text) {
    PutText(out, *text);
  } else {
    PutNull(out);
  }
}

void PutInt32(std::string& out, int value) {
  PutBigEndian<std::int32_t>(out, 4);
  PutBigEndian<std::int32_t>(out, value);
}

void PutTimestamp(std::string& out, jobs::Micros value) {
  PutBigEndian<std::int32_t>(out, 8);
  PutBigEndian<std::int64_t>(out, value - kPgEpochOffsetMicros);
}

void PutOptionalTimestamp(std::string& out, const std::optional<jobs::Micros>& value) {
  if (value) {
    PutTimestamp(out, *value);
  } else {
    PutNull(out);
  }
}

void PutOptionalDouble(std::string& out, const std::optional<double>& value) {
  if (!value) return PutNull(out);
  PutBigEndian<std::int32_t>(out, 8);
  PutBigEndian<std::uint64_t>(out, std::bit_cast<std::uint64_t>(*value));
}

// jsonb's binary input: a version byte (1), then the JSON text.
void PutOptionalJsonb(std::string& out, const std::optional<std::string>& json) {
  if (!json) return PutNull(out);
  PutBigEndian<std::int32_t>(out, static_cast<std::int32_t>(json->size() + 1));
  out.push_back('\1');
  out.append(*json);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// uuid's binary form: its 16 bytes, from the canonical 8-4-4-4-12 text.
void PutUuid(std::string& out, std::string_view text) {
  char bytes[16];
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size() && n < 32; ++i) {
    if (text[i] == '-') continue;
    int v = HexValue(text[i]);
    if (v < 0) break;
    if (n % 2 == 0) {
      bytes[n / 2] = static_cast<char>(v << 4);
    } else {
      bytes[n / 2] = static_cast<char>(bytes[n / 2] | v);
    }
    ++n;
  }
  if (n != 32 || text.size() != 36) {
    throw Error(ErrorCode::kInvalidArgument, "seed: not a uuid: '" + std::string(text) + "'");
  }
  PutBigEndian<std::int32_t>(out, 16);
  out.append(bytes, 16);
}

void PutOptionalUuid(std::string& out, const std::optional<std::string>& text) {
  if (text) {
    PutUuid(out, *text);
  } else {
    PutNull(out);
  }
}

void PutRow(std::string& out, const jobs::Job& job) {
  PutBigEndian<std::int16_t>(out, kCopyFields);
  PutUuid(out, job.uuid);
  PutText(out, job.owner);
  PutText(out, job.model);
  PutText(out, job.input_text ? std::string_view(*job.input_text) : std::string_view());
  PutText(out, jobs::ToString(job.status));
  PutInt32(out, job.priority);
  PutOptionalText(out, job.result_label);
  PutOptionalDouble(out, job.result_score);
  PutOptionalText(out, job.error);
  PutOptionalJsonb(out, job.metadata);
  PutInt32(out, job.attempts);
  PutInt32(out, job.max_attempts);
  PutTimestamp(out, job.run_after);
  PutOptionalUuid(out, job.lease_token);
  PutOptionalTimestamp(out, job.lease_expires_at);
  PutOptionalText(out, job.worker);
  PutTimestamp(out, job.created_at);
  PutOptionalTimestamp(out, job.started_at);
  PutOptionalTimestamp(out, job.completed_at);
  PutTimestamp(out, job.updated_at);
}

[[noreturn]] void ThrowConnectionError(PGconn* conn, std::string_view what) {
  std::string message = "postgresql: seed: " + std::string(what) + ": ";
  message += conn ? PQerrorMessage(conn) : "out of memory";
  while (!message.empty() && message.back() == '\n') message.pop_back();
  throw Error(ErrorCode::kUnavailable, std::move(message));
}

}  // namespace

PgBulkLoad::~PgBulkLoad() { Close(); }

void PgBulkLoad::Close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  tally_.reset();
}

std::vector<std::vector<std::string>> PgBulkLoad::Exec(obs::RequestStats& stats,
                                                       std::string_view name,
                                                       const std::string& sql,
                                                       const std::vector<std::string>& params) {
  auto start = std::chrono::steady_clock::now();
  std::vector<const char*> values;
  for (const std::string& param : params) values.push_back(param.c_str());
  PGresult* result = params.empty()
                         ? PQexec(conn_, sql.c_str())
                         : PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()),
                                        nullptr, values.data(), nullptr, nullptr, 0);
  if (result == nullptr) ThrowConnectionError(conn_, name);
  ExecStatusType status = PQresultStatus(result);
  // COPY ... FROM STDIN answers PGRES_COPY_IN: the server now waits for the rows.
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_COPY_IN) {
    Error error = ErrorFromResult(result, name);
    PQclear(result);
    throw error;
  }
  std::vector<std::vector<std::string>> rows(PQntuples(result));
  for (int r = 0; r < PQntuples(result); ++r) {
    for (int c = 0; c < PQnfields(result); ++c) rows[r].emplace_back(PQgetvalue(result, r, c));
  }
  PQclear(result);
  stats.RecordStatement(name, std::chrono::steady_clock::now() - start,
                        static_cast<std::int64_t>(rows.size()));
  return rows;
}

std::vector<std::vector<std::string>> PgBulkLoad::Exec(obs::RequestStats& stats,
                                                       const PgStatement& statement) {
  return Exec(stats, statement.name, std::string(statement.sql));
}

bool PgBulkLoad::BeginLoad(obs::RequestStats& stats) {
  conn_ = PQconnectdb(url_.c_str());
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    std::string reason = conn_ ? PQerrorMessage(conn_) : "out of memory";
    Close();
    while (!reason.empty() && reason.back() == '\n') reason.pop_back();
    throw Error(ErrorCode::kUnavailable, "postgresql: seed: cannot connect: " + reason);
  }
  rows_ = 0;
  dropped_indexes_.clear();
  Exec(stats, kSeedBegin);
  Exec(stats, kSeedSettings);
  Exec(stats, kSeedPauseTriggers);
  Exec(stats, kSeedLock);
  const bool empty = Exec(stats, kSeedIsEmpty).at(0).at(0) == "t";
  last_id_before_ = Exec(stats, kSeedLastId).at(0).at(0);
  std::vector<std::int64_t> bounds;
  for (auto& row : Exec(stats, kSeedRunBuckets)) bounds.push_back(std::stoll(row.at(0)));
  tally_.emplace(std::move(bounds));
  if (empty) {
    Exec(stats, kSeedTruncate);
    for (auto& row : Exec(stats, kSeedSecondaryIndexes)) {
      dropped_indexes_.emplace_back(row.at(0), row.at(1));
    }
    for (const auto& [name, definition] : dropped_indexes_) {
      char* quoted = PQescapeIdentifier(conn_, name.data(), name.size());
      if (quoted == nullptr) ThrowConnectionError(conn_, "PQescapeIdentifier");
      std::string sql = std::string("DROP INDEX ") + quoted;
      PQfreemem(quoted);
      Exec(stats, kSeedDropIndex, sql);
    }
  }
  // One COPY for the whole load; Append streams into it, Finish ends it.
  const PgStatement& copy = empty ? kSeedCopyFrozen : kSeedCopy;
  copy_name_ = copy.name;
  Exec(stats, copy);
  buffer_.assign(kCopySignature, sizeof(kCopySignature) - 1);
  buffer_.push_back('\0');
  PutBigEndian<std::int32_t>(buffer_, 0);  // flags
  PutBigEndian<std::int32_t>(buffer_, 0);  // header extension length
  return empty;
}

void PgBulkLoad::AppendRows(std::span<const jobs::Job> rows) {
  if (conn_ == nullptr) throw Error(ErrorCode::kInternal, "seed: Append before Begin");
  if (rows.size() > kMaxAppendRows) {
    throw Error(ErrorCode::kInvalidArgument, "seed: at most 100000 rows per Append");
  }
  for (const jobs::Job& job : rows) {
    PutRow(buffer_, job);
    tally_->Add(job);
    if (buffer_.size() >= kCopyMessageBytes) {
      if (PQputCopyData(conn_, buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
        ThrowConnectionError(conn_, "PQputCopyData");
      }
      buffer_.clear();
    }
  }
  rows_ += static_cast<std::int64_t>(rows.size());
}

std::int64_t PgBulkLoad::FinishLoad(obs::RequestStats& stats,
                                    const jobs::BulkLoadPhaseFn& on_phase) {
  if (conn_ == nullptr) throw Error(ErrorCode::kInternal, "seed: Finish before Begin");
  PutBigEndian<std::int16_t>(buffer_, -1);  // end of tuples
  auto start = std::chrono::steady_clock::now();
  if (PQputCopyData(conn_, buffer_.data(), static_cast<int>(buffer_.size())) != 1 ||
      PQputCopyEnd(conn_, nullptr) != 1) {
    ThrowConnectionError(conn_, "PQputCopyEnd");
  }
  buffer_.clear();
  buffer_.shrink_to_fit();
  // COPY's own result, then the end of results.
  PGresult* result = PQgetResult(conn_);
  if (result == nullptr) ThrowConnectionError(conn_, copy_name_);
  if (PQresultStatus(result) != PGRES_COMMAND_OK) {
    Error error = ErrorFromResult(result, copy_name_);
    PQclear(result);
    throw error;
  }
  PQclear(result);
  while ((result = PQgetResult(conn_)) != nullptr) PQclear(result);
  stats.RecordStatement(copy_name_, std::chrono::steady_clock::now() - start, rows_);

  for (const auto& [name, definition] : dropped_indexes_) {
    if (on_phase) on_phase("building index " + name);
    Exec(stats, kSeedCreateIndex, definition);
  }
  if (on_phase) on_phase("queueing pending jobs");
  Exec(stats, kSeedQueue.name, std::string(kSeedQueue.sql), {last_id_before_});
  if (on_phase) on_phase("counting");
  AddCounters(stats);
  if (on_phase) on_phase("analyzing");
  Exec(stats, kSeedAnalyze);
  if (on_phase) on_phase("committing");
  Exec(stats, kSeedCommit);
  Close();
  return rows_;
}

void PgBulkLoad::AddCounters(obs::RequestStats& stats) {
  std::array<std::string, 7> arrays;
  arrays.fill("{");
  for (const jobs::CounterRow& row : tally_->Rows()) {
    AppendArrayElement(arrays[0], row.metric);
    AppendArrayElement(arrays[1], row.status);
    AppendArrayElement(arrays[2], row.model);
    AppendArrayElement(arrays[3], row.hour);
    AppendArrayElement(arrays[4], row.bucket);
    AppendArrayElement(arrays[5], row.jobs);
    AppendArrayElement(arrays[6], row.micros);
  }
  for (std::string& array : arrays) array.push_back('}');
  Exec(stats, kSeedAddCounters.name, std::string(kSeedAddCounters.sql),
       std::vector<std::string>(arrays.begin(), arrays.end()));
}

// Any failure abandons the load: closing the connection rolls its transaction back, so the
// table and its indexes are as before Begin, and a new Begin may start over.
asio::awaitable<bool> PgBulkLoad::Begin(obs::RequestStats& stats) {
  if (conn_ != nullptr) throw Error(ErrorCode::kConflict, "seed: a load is already in progress");
  try {
    co_return BeginLoad(stats);
  } catch (...) {
    Close();
    throw;
  }
}

asio::awaitable<void> PgBulkLoad::Append(obs::RequestStats&, std::span<const jobs::Job> rows) {
  try {
    AppendRows(rows);
  } catch (...) {
    Close();
    throw;
  }
  co_return;
}

asio::awaitable<std::int64_t> PgBulkLoad::Finish(obs::RequestStats& stats,
                                                 const jobs::BulkLoadPhaseFn& on_phase) {
  try {
    co_return FinishLoad(stats, on_phase);
  } catch (...) {
    Close();
    throw;
  }
}

}  // namespace mljobs::store::postgres

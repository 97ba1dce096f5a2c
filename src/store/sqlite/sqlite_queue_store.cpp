#include "store/sqlite/sqlite_queue_store.hpp"

#include <sqlite3.h>


#include "common/error.hpp"
#include "store/sqlite/sqlite_job_row.hpp"
#include "store/sqlite/sqlite_queue_statements.hpp"

namespace mljobs::store::sqlite {
namespace {

// Models as the JSON array json_each reads. Names are [A-Za-z0-9-_.:/] (the service checks),
// so they need no escaping.
std::string ModelsJson(const std::vector<std::string>& models) {
  std::string out = "[";
  for (const std::string& model : models) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += model;
    out += '"';
  }
  out += ']';
  return out;
}

// Reads every RETURNING row and steps the statement to its end, which commits it.
std::vector<jobs::Job> ReadAll(Statement& statement) {
  std::vector<jobs::Job> out;
  while (statement.Step()) out.push_back(ReadJob(statement, HeavyColumns::All()));
  return out;
}

std::optional<jobs::Job> Lookup(Connection& connection, std::string_view uuid) {
  Statement statement = connection.Prepare(kLeaseLookup.sql());
  statement.BindText(":uuid", uuid);
  if (!statement.Step()) return std::nullopt;
  return ReadJob(statement, HeavyColumns::All());
}

// One single-job lease statement (already bound) and, when it changed nothing, the lookup
// that says why. Writer thread.
jobs::LeaseResult RunLeaseCall(Connection& connection, obs::RequestStats& stats,
                               std::string_view name, Statement& statement, std::string_view uuid,
                               std::string_view lease_token, bool completing) {
  jobs::LeaseResult out;
  {
    StatementTimer timer(stats, name);
    std::vector<jobs::Job> changed = ReadAll(statement);
    timer.Done(static_cast<std::int64_t>(changed.size()));
    if (!changed.empty()) {
      out.outcome = jobs::LeaseOutcome::kOk;
      out.job = std::move(changed.front());
      return out;
    }
  }
  StatementTimer timer(stats, kLeaseLookup.name);
  out.job = Lookup(connection, uuid);
  timer.Done(out.job ? 1 : 0);
  out.outcome = jobs::ExplainUnchanged(out.job, lease_token, completing);
  return out;
}

}  // namespace

asio::awaitable<std::vector<std::vector<jobs::Job>>> SqliteQueueStore::ClaimBatch(
    obs::RequestStats& stats, std::span<const jobs::ClaimRequest> requests, jobs::Micros now) {
  co_return co_await db_.OnWriter([&](Connection& connection) {
    std::vector<std::vector<jobs::Job>> out(requests.size());
    if (requests.empty()) return out;
    // One claim statement per request, in one transaction (one commit for the group),
    // recorded as one logical statement as kCompleteJobsBatch is.
    Transaction transaction(connection);
    StatementTimer timer(stats, kClaimJobs.name);
    Statement statement = connection.Prepare(kClaimJobs.sql());
    std::int64_t rows = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const jobs::ClaimRequest& request = requests[i];
      statement.BindInt64(":now", now);
      statement.BindInt64(":lease", request.lease_micros);
      statement.BindText(":worker", request.worker);
      statement.BindInt64(":limit", request.limit);
      if (request.models.empty()) {
        statement.BindNull(":models");
      } else {
        statement.BindText(":models", ModelsJson(request.models));
      }
      out[i] = ReadAll(statement);
      statement.Reset();
      rows += static_cast<std::int64_t>(out[i].size());
      jobs::SortInClaimOrder(out[i]);
    }
    transaction.Commit();
    timer.Done(rows);
    return out;
  });
}

asio::awaitable<jobs::LeaseResult> SqliteQueueStore::Heartbeat(obs::RequestStats& stats,
                                                               std::string_view uuid,
                                                               std::string_view lease_token,
                                                               jobs::Micros lease_micros,
                                                               jobs::Micros now) {
  co_return co_await db_.OnWriter([&](Connection& connection) {
    Statement statement = connection.Prepare(kHeartbeatJob.sql());
    statement.BindInt64(":now", now);
    statement.BindInt64(":lease", lease_micros);
    statement.BindText(":uuid", uuid);
    statement.BindText(":token", lease_token);
    return RunLeaseCall(connection, stats, kHeartbeatJob.name, statement, uuid, lease_token,
                        false);
  });
}

asio::awaitable<std::vector<jobs::LeaseResult>> SqliteQueueStore::CompleteBatch(
    obs::RequestStats& stats, std::span<const jobs::Completion> completions, jobs::Micros now,
    bool with_jobs) {
  std::vector<jobs::LeaseResult> results(completions.size());
  if (completions.empty()) co_return results;
  co_await db_.OnWriter([&](Connection& connection) {
    Transaction transaction(connection);
    std::vector<std::size_t> unchanged;
    {
      // With jobs: the RETURNING form of the same change, so no second read per job.
      StatementTimer timer(stats, with_jobs ? kCompleteJob.name : kCompleteJobsBatch.name);
      Statement statement =
          connection.Prepare(with_jobs ? kCompleteJob.sql() : kCompleteJobsBatch.sql());
      for (std::size_t i = 0; i < completions.size(); ++i) {
        const jobs::Completion& c = completions[i];
        statement.BindText(":label", c.label);
        statement.BindDouble(":score", c.score);
        statement.BindInt64(":now", now);
        statement.BindText(":uuid", c.uuid);
        statement.BindText(":token", c.lease_token);
        bool changed = false;
        if (with_jobs) {
          std::vector<jobs::Job> rows = ReadAll(statement);
          changed = !rows.empty();
          if (changed) results[i].job = std::move(rows.front());
        } else {
          statement.Step();
          changed = sqlite3_changes(connection.handle()) != 0;
        }
        statement.Reset();
        if (changed) {
          results[i].outcome = jobs::LeaseOutcome::kOk;
        } else {
          unchanged.push_back(i);
        }
      }
      timer.Done(static_cast<std::int64_t>(completions.size() - unchanged.size()));
    }
    if (!unchanged.empty()) {
      StatementTimer timer(stats, kCompleteJobsLookup);
      for (std::size_t i : unchanged) {
        results[i].job = Lookup(connection, completions[i].uuid);
        results[i].outcome =
            jobs::ExplainUnchanged(results[i].job, completions[i].lease_token, true);
      }
      timer.Done(static_cast<std::int64_t>(unchanged.size()));
    }
    transaction.Commit();
  });
  co_return results;
}

asio::awaitable<jobs::LeaseResult> SqliteQueueStore::Fail(obs::RequestStats& stats,
                                                          std::string_view uuid,
                                                          const jobs::FailRequest& request) {
  co_return co_await db_.OnWriter([&](Connection& connection) {
    Statement statement = connection.Prepare(kFailJob.sql());
    statement.BindInt64(":retry", request.retry ? 1 : 0);
    statement.BindInt64(":now", request.now);
    statement.BindInt64(":base", request.backoff_base);
    statement.BindInt64(":cap", request.backoff_cap);
    statement.BindText(":error", request.error);
    statement.BindText(":uuid", uuid);
    statement.BindText(":token", request.lease_token);
    return RunLeaseCall(connection, stats, kFailJob.name, statement, uuid, request.lease_token,
                        false);
  });
}

asio::awaitable<int> SqliteQueueStore::ReapExpired(obs::RequestStats& stats, jobs::Micros now,
                                                   int limit) {
  co_return co_await db_.OnWriter([&](Connection& connection) {
    StatementTimer timer(stats, kReapExpiredLeases.name);
    Statement statement = connection.Prepare(kReapExpiredLeases.sql());
    statement.BindInt64(":now", now);
    statement.BindInt64(":limit", limit);
    statement.Step();
    const int changed = sqlite3_changes(connection.handle());
    timer.Done(changed);
    return changed;
  });
}

}  // namespace mljobs::store::sqlite

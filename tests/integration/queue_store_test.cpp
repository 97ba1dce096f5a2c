// The QueueStore contract on both backends, on a fresh real database per test: claim order
// and filters, exactly-once leasing under 16 concurrent claimers, lease checks (wrong token,
// cancelled, idempotent repeat), retry backoff and max_attempts, the reaper of expired
// leases, that the claim walks the partial pending index, and (PostgreSQL) that only claims
// commit without waiting for their WAL flush.
#include "jobs/queue_store.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "jobs/claim_batcher.hpp"
#include "jobs/completion_batcher.hpp"
#include "jobs/job.hpp"
#include "obs/request_stats.hpp"
#include "store/postgres/pg_queue_statements.hpp"
#include "store/sqlite/sqlite_queue_statements.hpp"
#include "store/store_options.hpp"
#include "support/test_backends.hpp"

namespace mljobs {
namespace {

namespace asio = boost::asio;
using jobs::ClaimRequest;
using jobs::Completion;
using jobs::FailRequest;
using jobs::Job;
using jobs::JobStatus;
using jobs::LeaseOutcome;
using jobs::Micros;
using jobs::NewJob;

constexpr Micros kBase = 1'700'000'000'000'000;
constexpr Micros kSecond = 1'000'000;

std::string Uuid(long long n) {
  char text[37];
  std::snprintf(text, sizeof text, "01890000-0000-7000-8000-%012llx", n);
  return text;
}

std::vector<LeaseOutcome> Outcomes(const std::vector<jobs::LeaseResult>& results) {
  std::vector<LeaseOutcome> out;
  for (const jobs::LeaseResult& r : results) out.push_back(r.outcome);
  return out;
}

NewJob MakeJob(long long n, Micros created_at, int priority = 0, std::string model = "m",
               int max_attempts = 3) {
  NewJob job;
  job.uuid = Uuid(n);
  job.owner = "alice";
  job.model = std::move(model);
  job.input_text = "input " + std::to_string(n);
  job.priority = priority;
  job.max_attempts = max_attempts;
  job.created_at = created_at;
  return job;
}

// A claim and the time it is made at.
struct TimedClaim {
  ClaimRequest request;
  Micros now = 0;
};

TimedClaim Claim(int limit, Micros now, std::string worker = "w1", Micros lease = 60 * kSecond) {
  TimedClaim c;
  c.request.worker = std::move(worker);
  c.request.limit = limit;
  c.request.lease_micros = lease;
  c.now = now;
  return c;
}

// One claim, as the store's ClaimBatch of a single request.
asio::awaitable<std::vector<Job>> ClaimOne(jobs::QueueStore& queue, obs::RequestStats& stats,
                                           const TimedClaim& claim) {
  const std::span<const ClaimRequest> one(&claim.request, 1);
  std::vector<std::vector<Job>> claimed = co_await queue.ClaimBatch(stats, one, claim.now);
  co_return std::move(claimed.at(0));
}

class QueueStoreTest : public testing::StoreTest {
 protected:
  jobs::QueueStore& queue() { return backend().queue(); }

  void Insert(const std::vector<NewJob>& jobs) {
    obs::RequestStats stats;
    Run(store().InsertBatch(stats, jobs));
  }

  std::vector<Job> ClaimJobs(const TimedClaim& claim) {
    obs::RequestStats stats;
    std::vector<Job> out = Run(ClaimOne(queue(), stats, claim));
    EXPECT_EQ(stats.statements(), 1);
    return out;
  }

  Job GetJob(long long n) {
    obs::RequestStats stats;
    return *Run(store().Get(stats, Uuid(n), std::nullopt));
  }

  jobs::LeaseResult Complete(const Job& job, std::string_view token, Micros now,
                             std::string label = "pos") {
    obs::RequestStats stats;
    std::vector<Completion> one{Completion{job.uuid, std::string(token), label, 0.75}};
    std::vector<jobs::LeaseResult> results = Run(queue().CompleteBatch(stats, one, now, true));
    EXPECT_EQ(results.size(), 1u);
    return std::move(results.at(0));
  }

  jobs::LeaseResult Fail(const Job& job, Micros now, bool retry = true) {
    obs::RequestStats stats;
    FailRequest r;
    r.lease_token = *job.lease_token;
    r.error = "boom";
    r.retry = retry;
    r.now = now;
    r.backoff_base = kSecond;
    r.backoff_cap = 3 * kSecond;
    return Run(queue().Fail(stats, job.uuid, r));
  }

  // What each of n calls started together on the test's io thread returned, or the reason
  // of the Error it threw (its value then empty). All start before any write can finish,
  // as requests arriving at once do. `call(i)` returns an awaitable<T>.
  template <typename T>
  struct Together {
    std::vector<std::optional<T>> values;
    std::vector<std::string> errors;
  };
  template <typename T, typename Call>
  Together<T> RunTogether(std::size_t n, Call call) {
    Together<T> out{std::vector<std::optional<T>>(n), std::vector<std::string>(n)};
    for (std::size_t i = 0; i < n; ++i) {
      asio::co_spawn(
          io(),
          [&out, &call, i]() -> asio::awaitable<void> {
            try {
              T value = co_await call(i);
              out.values[i] = std::move(value);
            } catch (const Error& e) {
              out.errors[i] = e.reason();
            }
          },
          asio::detached);
    }
    io().restart();
    io().run();
    return out;
  }
};

std::vector<std::string> UuidsOf(const std::vector<Job>& jobs) {
  std::vector<std::string> out;
  for (const Job& j : jobs) out.push_back(j.uuid);
  return out;
}

TEST_P(QueueStoreTest, ClaimLeasesByPriorityThenAge) {
  Insert({MakeJob(1, kBase + 1, 0), MakeJob(2, kBase + 2, 5), MakeJob(3, kBase + 3, 5),
          MakeJob(4, kBase + 4, -1), MakeJob(5, kBase + 5, 0)});
  const Micros now = kBase + 10 * kSecond;
  std::vector<Job> first = ClaimJobs(Claim(3, now, "w1", 30 * kSecond));
  EXPECT_EQ(UuidsOf(first), (std::vector<std::string>{Uuid(2), Uuid(3), Uuid(1)}));
  std::set<std::string> tokens;
  for (const Job& job : first) {
    EXPECT_EQ(job.status, JobStatus::kRunning);
    EXPECT_EQ(job.attempts, 1);
    EXPECT_EQ(job.started_at, now);
    EXPECT_EQ(job.lease_expires_at, now + 30 * kSecond);
    EXPECT_EQ(job.worker, "w1");
    EXPECT_EQ(job.input_text, "input " + job.uuid.substr(job.uuid.size() - 1));
    ASSERT_TRUE(job.lease_token.has_value());
    EXPECT_EQ(job.lease_token->size(), 36u);
    tokens.insert(*job.lease_token);
  }
  EXPECT_EQ(tokens.size(), 3u);  // a fresh token per job
  EXPECT_EQ(UuidsOf(ClaimJobs(Claim(10, now))), (std::vector<std::string>{Uuid(5), Uuid(4)}));
  EXPECT_TRUE(ClaimJobs(Claim(10, now)).empty());
}

TEST_P(QueueStoreTest, ClaimHonoursRunAfterAndModels) {
  Insert({MakeJob(1, kBase, 0, "a"), MakeJob(2, kBase + 1, 0, "b"), MakeJob(3, kBase + 2, 0, "c")});
  // Nothing is runnable before its run_after (created_at for a new job).
  EXPECT_TRUE(ClaimJobs(Claim(10, kBase - 1)).empty());
  TimedClaim only = Claim(10, kBase + kSecond);
  only.request.models = {"c", "a"};
  EXPECT_EQ(UuidsOf(ClaimJobs(only)), (std::vector<std::string>{Uuid(1), Uuid(3)}));
  only.request.models = {"zzz"};
  EXPECT_TRUE(ClaimJobs(only).empty());
  EXPECT_EQ(GetJob(2).status, JobStatus::kPending);
}

TEST_P(QueueStoreTest, SixteenClaimersDrainTwentyThousandJobsExactlyOnce) {
  constexpr int kJobs = 20'000;
  for (int batch = 0; batch < 2; ++batch) {
    std::vector<NewJob> jobs;
    for (int i = 0; i < kJobs / 2; ++i) {
      const int n = batch * (kJobs / 2) + i;
      jobs.push_back(MakeJob(n, kBase + n, n % 5));
    }
    Insert(jobs);
  }
  std::map<std::string, int> claimed;  // uuid -> times claimed (io thread only)
  int finished = 0;
  std::exception_ptr failure;
  for (int w = 0; w < 16; ++w) {
    asio::co_spawn(
        io(),
        [&, w]() -> asio::awaitable<void> {
          while (true) {
            obs::RequestStats stats;
            const TimedClaim claim = Claim(50, kBase + kJobs + kSecond, "w" + std::to_string(w));
            std::vector<Job> batch = co_await ClaimOne(queue(), stats, claim);
            if (batch.empty()) co_return;
            std::vector<Completion> done;
            for (const Job& job : batch) {
              ++claimed[job.uuid];
              done.push_back(Completion{job.uuid, *job.lease_token, "ok", 1.0});
            }
            auto results =
                co_await queue().CompleteBatch(stats, done, kBase + kJobs + kSecond, false);
            for (const jobs::LeaseResult& r : results) {
              if (r.outcome != LeaseOutcome::kOk)
                throw std::runtime_error("a completion was refused");
            }
          }
        },
        [&](std::exception_ptr e) {
          if (e) failure = e;
          ++finished;
        });
  }
  io().restart();
  io().run();
  ASSERT_EQ(finished, 16);
  if (failure) std::rethrow_exception(failure);
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kJobs));
  for (const auto& [uuid, times] : claimed) ASSERT_EQ(times, 1) << uuid;
  auto rows = database().Query(
      "SELECT status, count(*), min(attempts), max(attempts) FROM ml_jobs GROUP BY status");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "completed");
  EXPECT_EQ(rows[0][1], std::to_string(kJobs));
  EXPECT_EQ(rows[0][2], "1");
  EXPECT_EQ(rows[0][3], "1");
}

TEST_P(QueueStoreTest, OnlyTheLeaseHolderCompletesAndARepeatIsIdempotent) {
  Insert({MakeJob(1, kBase), MakeJob(2, kBase + 1)});
  std::vector<Job> claimed = ClaimJobs(Claim(2, kBase + kSecond));
  ASSERT_EQ(claimed.size(), 2u);
  const Job& job = claimed[0];
  // Another job's token does not hold this one.
  jobs::LeaseResult wrong = Complete(job, *claimed[1].lease_token, kBase + 2 * kSecond);
  EXPECT_EQ(wrong.outcome, LeaseOutcome::kLeaseLost);
  EXPECT_EQ(GetJob(1).status, JobStatus::kRunning);

  jobs::LeaseResult done = Complete(job, *job.lease_token, kBase + 2 * kSecond);
  ASSERT_EQ(done.outcome, LeaseOutcome::kOk);
  EXPECT_EQ(done.job->status, JobStatus::kCompleted);
  EXPECT_EQ(done.job->result_label, "pos");
  EXPECT_EQ(done.job->result_score, 0.75);
  EXPECT_EQ(done.job->completed_at, kBase + 2 * kSecond);
  EXPECT_EQ(done.job->lease_expires_at, std::nullopt);

  jobs::LeaseResult again = Complete(job, *job.lease_token, kBase + 3 * kSecond, "other");
  EXPECT_EQ(again.outcome, LeaseOutcome::kRepeated);
  EXPECT_EQ(again.job->result_label, "pos");  // the first result stands
  EXPECT_EQ(GetJob(1).completed_at, kBase + 2 * kSecond);

  obs::RequestStats stats;
  jobs::LeaseResult heartbeat =
      Run(queue().Heartbeat(stats, job.uuid, *job.lease_token, kSecond, kBase + 3 * kSecond));
  EXPECT_EQ(heartbeat.outcome, LeaseOutcome::kLeaseLost);

  Job absent_job;
  absent_job.uuid = Uuid(99);
  jobs::LeaseResult absent = Complete(absent_job, *job.lease_token, kBase + 3 * kSecond);
  EXPECT_EQ(absent.outcome, LeaseOutcome::kNotFound);
}

TEST_P(QueueStoreTest, HeartbeatExtendsTheLease) {
  Insert({MakeJob(1, kBase)});
  Job job = ClaimJobs(Claim(1, kBase + kSecond, "w1", 10 * kSecond)).at(0);
  obs::RequestStats stats;
  jobs::LeaseResult beat =
      Run(queue().Heartbeat(stats, job.uuid, *job.lease_token, 30 * kSecond, kBase + 5 * kSecond));
  ASSERT_EQ(beat.outcome, LeaseOutcome::kOk);
  EXPECT_EQ(stats.statements(), 1);
  EXPECT_EQ(beat.job->lease_expires_at, kBase + 35 * kSecond);
  EXPECT_EQ(GetJob(1).lease_expires_at, kBase + 35 * kSecond);
}

TEST_P(QueueStoreTest, CancelledRunningJobAnswersCancelled) {
  Insert({MakeJob(1, kBase)});
  Job job = ClaimJobs(Claim(1, kBase + kSecond)).at(0);
  obs::RequestStats stats;
  ASSERT_EQ(Run(store().Cancel(stats, job.uuid, std::nullopt, kBase + 2 * kSecond)).outcome,
            jobs::CancelOutcome::kCancelled);
  EXPECT_EQ(Complete(job, *job.lease_token, kBase + 3 * kSecond).outcome, LeaseOutcome::kCancelled);
  EXPECT_EQ(Run(queue().Heartbeat(stats, job.uuid, *job.lease_token, kSecond, kBase)).outcome,
            LeaseOutcome::kCancelled);
  EXPECT_EQ(GetJob(1).status, JobStatus::kCancelled);
}

TEST_P(QueueStoreTest, FailRetriesWithExponentialBackoffUntilMaxAttempts) {
  Insert({MakeJob(1, kBase, 0, "m", 4)});
  Micros now = kBase + kSecond;
  // Backoff base 1 s, cap 3 s: retries wait 1 s, 2 s, then 3 s (capped).
  const Micros waits[] = {kSecond, 2 * kSecond, 3 * kSecond};
  for (int attempt = 1; attempt <= 3; ++attempt) {
    Job job = ClaimJobs(Claim(1, now)).at(0);
    EXPECT_EQ(job.attempts, attempt);
    jobs::LeaseResult failed = Fail(job, now);
    ASSERT_EQ(failed.outcome, LeaseOutcome::kOk);
    EXPECT_EQ(failed.job->status, JobStatus::kPending);
    EXPECT_EQ(failed.job->error, "boom");
    EXPECT_EQ(failed.job->run_after, now + waits[attempt - 1]);
    EXPECT_EQ(failed.job->lease_token, std::nullopt);
    // Not runnable a microsecond early; runnable on time.
    EXPECT_TRUE(ClaimJobs(Claim(1, now + waits[attempt - 1] - 1)).empty());
    // The old token no longer holds the job.
    EXPECT_EQ(Complete(job, *job.lease_token, now).outcome, LeaseOutcome::kLeaseLost);
    now += waits[attempt - 1];
  }
  Job last = ClaimJobs(Claim(1, now)).at(0);
  EXPECT_EQ(last.attempts, 4);
  jobs::LeaseResult final_fail = Fail(last, now);
  ASSERT_EQ(final_fail.outcome, LeaseOutcome::kOk);
  EXPECT_EQ(final_fail.job->status, JobStatus::kFailed);
  EXPECT_EQ(final_fail.job->completed_at, now);
  EXPECT_EQ(final_fail.job->error, "boom");
  EXPECT_TRUE(ClaimJobs(Claim(1, now + 3600 * kSecond)).empty());
}

TEST_P(QueueStoreTest, FailWithoutRetryIsFinal) {
  Insert({MakeJob(1, kBase)});
  Job job = ClaimJobs(Claim(1, kBase + kSecond)).at(0);
  jobs::LeaseResult failed = Fail(job, kBase + 2 * kSecond, /*retry=*/false);
  ASSERT_EQ(failed.outcome, LeaseOutcome::kOk);
  EXPECT_EQ(failed.job->status, JobStatus::kFailed);
  EXPECT_EQ(failed.job->attempts, 1);
}

TEST_P(QueueStoreTest, ReaperReturnsExpiredLeasesAndTheDeadWorkerLosesIt) {
  Insert({MakeJob(1, kBase, 0, "m", 2), MakeJob(2, kBase + 1, 0, "m", 1)});
  const Micros t0 = kBase + kSecond;
  std::vector<Job> dead = ClaimJobs(Claim(2, t0, "dead", 10 * kSecond));
  ASSERT_EQ(dead.size(), 2u);
  obs::RequestStats stats;
  // Not expired yet: nothing changes.
  EXPECT_EQ(Run(queue().ReapExpired(stats, t0 + 10 * kSecond, 100)), 0);
  EXPECT_EQ(Run(queue().ReapExpired(stats, t0 + 11 * kSecond, 100)), 2);
  Job retried = GetJob(1);
  EXPECT_EQ(retried.status, JobStatus::kPending);
  EXPECT_EQ(retried.error, "lease expired");
  EXPECT_EQ(retried.run_after, t0 + 11 * kSecond);
  Job used_up = GetJob(2);  // max_attempts 1: the expired attempt was its last
  EXPECT_EQ(used_up.status, JobStatus::kFailed);
  EXPECT_EQ(used_up.completed_at, t0 + 11 * kSecond);

  Job again = ClaimJobs(Claim(10, t0 + 12 * kSecond, "alive")).at(0);
  EXPECT_EQ(again.uuid, Uuid(1));
  EXPECT_EQ(again.attempts, 2);
  EXPECT_NE(again.lease_token, dead[0].lease_token);
  // The dead worker's late completion is refused; the new holder's is taken.
  EXPECT_EQ(Complete(dead[0], *dead[0].lease_token, t0 + 13 * kSecond).outcome,
            LeaseOutcome::kLeaseLost);
  EXPECT_EQ(Complete(again, *again.lease_token, t0 + 13 * kSecond).outcome, LeaseOutcome::kOk);
  EXPECT_EQ(Run(queue().ReapExpired(stats, t0 + 3600 * kSecond, 100)), 0);
}

TEST_P(QueueStoreTest, CompleteBatchAnswersPerJob) {
  Insert({MakeJob(1, kBase), MakeJob(2, kBase + 1), MakeJob(3, kBase + 2), MakeJob(4, kBase + 3)});
  std::vector<Job> c = ClaimJobs(Claim(4, kBase + kSecond));
  ASSERT_EQ(c.size(), 4u);
  obs::RequestStats cancel_stats;
  Run(store().Cancel(cancel_stats, c[3].uuid, std::nullopt, kBase + kSecond));
  std::vector<Completion> batch = {
      {c[0].uuid, *c[0].lease_token, "a", 0.5},
      {c[1].uuid, *c[2].lease_token, "b", 0.5},  // wrong token
      {Uuid(77), *c[0].lease_token, "c", 0.5},   // no such job
      {c[3].uuid, *c[3].lease_token, "d", 0.5},  // cancelled
      {c[2].uuid, *c[2].lease_token, "e", 0.25},
  };
  obs::RequestStats stats;
  auto outcomes = Outcomes(Run(queue().CompleteBatch(stats, batch, kBase + 2 * kSecond, false)));
  EXPECT_EQ(outcomes, (std::vector<LeaseOutcome>{LeaseOutcome::kOk, LeaseOutcome::kLeaseLost,
                                                 LeaseOutcome::kNotFound, LeaseOutcome::kCancelled,
                                                 LeaseOutcome::kOk}));
  EXPECT_EQ(stats.statements(), 2);  // the update, and one lookup of the four unchanged
  EXPECT_EQ(GetJob(3).result_score, 0.25);
  EXPECT_EQ(GetJob(2).status, JobStatus::kRunning);
  // A repeat of a good batch: one statement that changes nothing, then the lookup says
  // "already completed with this token".
  obs::RequestStats repeat;
  auto again =
      Outcomes(Run(queue().CompleteBatch(repeat, std::vector<Completion>{batch[0]}, kBase, false)));
  EXPECT_EQ(again, std::vector<LeaseOutcome>{LeaseOutcome::kRepeated});
  obs::RequestStats happy;
  auto ok = Outcomes(Run(queue().CompleteBatch(
      happy, std::vector<Completion>{{c[1].uuid, *c[1].lease_token, "b", 1}}, kBase, false)));
  EXPECT_EQ(ok, std::vector<LeaseOutcome>{LeaseOutcome::kOk});
  EXPECT_EQ(happy.statements(), 1);
}

// The form single completions are grouped into: every caller gets its job back, changed
// or not, in one statement (plus one lookup for the unchanged).
TEST_P(QueueStoreTest, CompleteBatchWithJobsReturnsEachJob) {
  Insert({MakeJob(1, kBase), MakeJob(2, kBase + 1), MakeJob(3, kBase + 2)});
  std::vector<Job> c = ClaimJobs(Claim(3, kBase + kSecond));
  ASSERT_EQ(c.size(), 3u);
  std::vector<Completion> batch = {
      {c[2].uuid, *c[2].lease_token, "late", 0.125},
      {c[0].uuid, *c[0].lease_token, "first", 0.5},
      {c[1].uuid, *c[0].lease_token, "x", 0.5},  // wrong token
      {Uuid(99), *c[0].lease_token, "x", 0.5},   // no such job
  };
  obs::RequestStats stats;
  auto results = Run(queue().CompleteBatch(stats, batch, kBase + 2 * kSecond, true));
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(Outcomes(results),
            (std::vector<LeaseOutcome>{LeaseOutcome::kOk, LeaseOutcome::kOk,
                                       LeaseOutcome::kLeaseLost, LeaseOutcome::kNotFound}));
  EXPECT_EQ(stats.statements(), 2);
  ASSERT_TRUE(results[0].job && results[1].job && results[2].job);
  EXPECT_FALSE(results[3].job);
  EXPECT_EQ(results[0].job->uuid, c[2].uuid);
  EXPECT_EQ(results[0].job->status, JobStatus::kCompleted);
  EXPECT_EQ(results[0].job->result_label, "late");
  EXPECT_EQ(results[0].job->result_score, 0.125);
  EXPECT_EQ(results[0].job->completed_at, kBase + 2 * kSecond);
  EXPECT_EQ(results[0].job->input_text, c[2].input_text);
  EXPECT_EQ(results[1].job->uuid, c[0].uuid);
  EXPECT_EQ(results[1].job->result_label, "first");
  EXPECT_EQ(results[2].job->uuid, c[1].uuid);
  EXPECT_EQ(results[2].job->status, JobStatus::kRunning);
  // Repeated with the same token: answered as a repeat, with the job as completed.
  obs::RequestStats again;
  auto repeat = Run(queue().CompleteBatch(again, std::vector<Completion>{batch[1]}, kBase, true));
  ASSERT_EQ(repeat.size(), 1u);
  EXPECT_EQ(repeat[0].outcome, LeaseOutcome::kRepeated);
  ASSERT_TRUE(repeat[0].job);
  EXPECT_EQ(repeat[0].job->result_label, "first");
}

// Completions past the batcher's bound are refused at once (503 too_many_completions) and
// change nothing. Five calls run on one io thread before the first write can finish: at
// most one is being written and two wait, so at least the last two are refused.
TEST_P(QueueStoreTest, CompletionBatcherRefusesPastItsBound) {
  constexpr std::size_t kCalls = 5;
  std::vector<NewJob> five;
  for (std::size_t i = 1; i <= kCalls; ++i) five.push_back(MakeJob(i, kBase + i));
  Insert(five);
  std::vector<Job> c = ClaimJobs(Claim(kCalls, kBase + kSecond));
  ASSERT_EQ(c.size(), kCalls);
  jobs::CompletionBatcher batcher(queue(), 2);
  Together<LeaseOutcome> r =
      RunTogether<LeaseOutcome>(kCalls, [&](std::size_t i) -> asio::awaitable<LeaseOutcome> {
        obs::RequestStats stats;
        Completion completion{c[i].uuid, *c[i].lease_token, "x", 1};
        jobs::LeaseResult result = co_await batcher.Complete(stats, std::move(completion));
        co_return result.outcome;
      });
  const std::vector<std::optional<LeaseOutcome>>& outcomes = r.values;
  std::size_t completed = 0;
  for (std::size_t i = 0; i < kCalls; ++i) {
    SCOPED_TRACE(i);
    if (outcomes[i]) {
      EXPECT_EQ(*outcomes[i], LeaseOutcome::kOk);
      EXPECT_EQ(GetJob(i + 1).status, JobStatus::kCompleted);
      ++completed;
    } else {
      EXPECT_EQ(r.errors[i], "too_many_completions");
      EXPECT_EQ(GetJob(i + 1).status, JobStatus::kRunning);
    }
  }
  EXPECT_FALSE(outcomes[3]);
  EXPECT_FALSE(outcomes[4]);
  EXPECT_GE(completed, 2u);
  EXPECT_EQ(batcher.Stats().written, completed);
}

// Claims past the claim batcher's bound are refused at once (503 too_many_claims) and
// lease nothing; as above, five calls on one io thread, at most one written and two
// waiting, so at least the last two are refused.
TEST_P(QueueStoreTest, ClaimBatcherRefusesPastItsBound) {
  constexpr std::size_t kCalls = 5;
  std::vector<NewJob> five;
  for (std::size_t i = 1; i <= kCalls; ++i) five.push_back(MakeJob(i, kBase + i));
  Insert(five);
  jobs::ClaimBatcher batcher(queue(), 2);
  Together<std::size_t> r =
      RunTogether<std::size_t>(kCalls, [&](std::size_t i) -> asio::awaitable<std::size_t> {
        obs::RequestStats stats;
        ClaimRequest request = Claim(1, 0, "w" + std::to_string(i)).request;
        std::vector<Job> jobs = co_await batcher.Claim(stats, std::move(request));
        co_return jobs.size();
      });
  const std::vector<std::optional<std::size_t>>& claimed = r.values;
  std::size_t leased = 0;
  for (std::size_t i = 0; i < kCalls; ++i) {
    SCOPED_TRACE(i);
    if (claimed[i]) {
      EXPECT_EQ(*claimed[i], 1u);
      leased += *claimed[i];
    } else {
      EXPECT_EQ(r.errors[i], "too_many_claims");
    }
  }
  EXPECT_FALSE(claimed[3]);
  EXPECT_FALSE(claimed[4]);
  EXPECT_GE(leased, 2u);
  EXPECT_EQ(batcher.Stats().written, leased);
  // Only the claims that were written leased jobs; the rest are still pending.
  std::size_t running = 0;
  for (std::size_t n = 1; n <= kCalls; ++n) {
    if (GetJob(static_cast<long long>(n)).status == JobStatus::kRunning) ++running;
  }
  EXPECT_EQ(running, leased);
}

TEST_P(QueueStoreTest, ClaimWalksTheClaimIndex) {
  std::vector<NewJob> jobs;
  for (int i = 0; i < 2000; ++i) jobs.push_back(MakeJob(i, kBase + i, i % 3));
  Insert(jobs);
  std::string plan;
  if (GetParam() == "postgresql") {
    // The store's own statement as the store runs it, with a generic plan (kClaimJobs is
    // generic_plan); EXPLAIN alone changes nothing.
    ASSERT_TRUE(store::postgres::kClaimJobs.generic_plan);
    database().Query("ANALYZE ml_jobs; ANALYZE ml_jobs_queue");
    for (const auto& row :
         database().Query("SET plan_cache_mode = force_generic_plan; PREPARE claim AS " +
                          std::string(store::postgres::kClaimJobs.sql) +
                          "; EXPLAIN EXECUTE claim(now(), NULL, '{w,v}', '{30000000,30000000}', "
                          "'{10,5}', 15)")) {
      plan += *row[0] + "\n";
    }
    // The candidates come straight off the claim index, in its order: no sort of the
    // pending jobs (only the few jobs picked are sorted, to deal them out).
    const std::size_t candidates = plan.find("CTE candidates");
    ASSERT_NE(candidates, std::string::npos) << plan;
    const std::size_t scan = plan.find("Index Scan using ml_jobs_queue_claim_idx", candidates);
    ASSERT_NE(scan, std::string::npos) << plan;
    const std::string head = plan.substr(candidates, scan - candidates);
    EXPECT_NE(head.find("Limit"), std::string::npos) << plan;
    EXPECT_NE(head.find("LockRows"), std::string::npos) << plan;
    EXPECT_EQ(head.find("Sort"), std::string::npos) << plan;
    EXPECT_NE(plan.find("ml_jobs_pkey"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << plan;
    // The update looks the claimed jobs up by id once, not once for each of them
    // (quadratic in the claim's size).
    EXPECT_NE(plan.find("Index Cond: (id = ANY (d.ids))"), std::string::npos) << plan;
  } else {
    // The store's own statement (unbound parameters are NULL to EXPLAIN).
    for (const auto& row : database().Query("EXPLAIN QUERY PLAN " +
                                            std::string(store::sqlite::kClaimJobs.sql()))) {
      plan += *row.back() + "\n";
    }
    EXPECT_NE(plan.find("ml_jobs_pending_claim_idx"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  }
}

// PostgreSQL's queue table (migration 0009) holds exactly the pending jobs through every
// way a job enters or leaves pending, and Tidy vacuums it once enough jobs were claimed.
class PgQueueTableTest : public QueueStoreTest {};

TEST_P(PgQueueTableTest, HoldsExactlyThePendingJobsAndIsVacuumedByTidy) {
  auto in_step = [&] {
    auto queued = database().Query(
        "SELECT string_agg(job_id::text, ',' ORDER BY job_id) "
        "FROM ml_jobs_queue");
    auto pending = database().Query(
        "SELECT string_agg(id::text, ',' ORDER BY id) FROM ml_jobs WHERE status = 'pending'");
    EXPECT_EQ(queued[0][0], pending[0][0]);
    // The claim key is copied too.
    EXPECT_EQ(
        database().Query("SELECT count(*) FROM ml_jobs_queue q JOIN ml_jobs j ON j.id = "
                         "q.job_id WHERE (q.priority, q.created_at, q.run_after, q.model) "
                         "IS DISTINCT FROM (j.priority, j.created_at, j.run_after, j.model)")[0][0],
        "0");
    return queued[0][0];
  };
  std::vector<NewJob> jobs;
  for (int i = 1; i <= 6; ++i) jobs.push_back(MakeJob(i, kBase + i, i % 2, "m", 2));
  Insert(jobs);
  EXPECT_EQ(in_step(), "1,2,3,4,5,6");
  std::vector<Job> c = ClaimJobs(Claim(3, kBase + kSecond));  // priority 1 first: 1, 3, 5
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(in_step(), "2,4,6");
  obs::RequestStats stats;
  Run(store().Cancel(stats, Uuid(2), std::nullopt, kBase + kSecond));
  EXPECT_EQ(in_step(), "4,6");
  EXPECT_EQ(Fail(c[0], kBase + 2 * kSecond, true).outcome, LeaseOutcome::kOk);  // a retry
  EXPECT_EQ(in_step(), "1,4,6");
  EXPECT_EQ(Run(queue().ReapExpired(stats, kBase + 1000 * kSecond, 10)), 2);  // 3 and 5
  EXPECT_EQ(in_step(), "1,3,4,5,6");
  database().Query("DELETE FROM ml_jobs WHERE id IN (4, 1)");
  EXPECT_EQ(in_step(), "3,5,6");
  database().Query("TRUNCATE ml_jobs");
  EXPECT_EQ(database().Query("SELECT count(*) FROM ml_jobs_queue")[0][0], "0");

  // Tidy: no statement until 1,000 jobs were claimed, then the VACUUM and a read of the
  // size it left (which sets the next threshold: 1,000 claims for a short queue).
  obs::RequestStats idle;
  Run(queue().Tidy(idle));
  EXPECT_EQ(idle.statements(), 0);
  std::vector<NewJob> many;
  for (int i = 0; i < 1000; ++i) many.push_back(MakeJob(100 + i, kBase + i));
  Insert(many);
  ASSERT_EQ(ClaimJobs(Claim(1000, kBase + kSecond)).size(), 1000u);
  obs::RequestStats tidy;
  Run(queue().Tidy(tidy));
  EXPECT_EQ(tidy.statements(), 2);
  EXPECT_EQ(database().Query("SELECT vacuum_count FROM pg_stat_user_tables "
                             "WHERE relname = 'ml_jobs_queue'")[0][0],
            "1");
  obs::RequestStats again;
  Run(queue().Tidy(again));
  EXPECT_EQ(again.statements(), 0);

  // A longer queue is vacuumed less often (each vacuum reads its indexes whole): at ~40,000
  // queued jobs, every ~3,200 claims.
  database().Query(
      "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, run_after, created_at, "
      "updated_at) SELECT gen_random_uuid(), 'o', 'm', 'x', 'pending', 'epoch', now(), now() "
      "FROM generate_series(1, 41000)");
  ASSERT_EQ(ClaimJobs(Claim(1000, kBase + kSecond)).size(), 1000u);
  obs::RequestStats first;
  Run(queue().Tidy(first));
  EXPECT_EQ(first.statements(), 2);  // 1,000 claims: the threshold left by the short queue
  ASSERT_EQ(ClaimJobs(Claim(1000, kBase + kSecond)).size(), 1000u);
  ASSERT_EQ(ClaimJobs(Claim(1000, kBase + kSecond)).size(), 1000u);
  obs::RequestStats not_yet;
  Run(queue().Tidy(not_yet));
  EXPECT_EQ(not_yet.statements(), 0);
  ASSERT_EQ(ClaimJobs(Claim(1000, kBase + kSecond)).size(), 1000u);
  ASSERT_EQ(ClaimJobs(Claim(500, kBase + kSecond)).size(), 500u);
  obs::RequestStats due;
  Run(queue().Tidy(due));
  EXPECT_EQ(due.statements(), 2);
}

// Completions look each job up by its uuid, whatever the plan was made on: here one job
// runs when it is planned (a generic plan, as the store runs it), the case in which a
// plan read every running job through ml_jobs_running_lease_idx for each completion.
TEST_P(PgQueueTableTest, CompletionLooksEachJobUpByUuid) {
  std::vector<NewJob> jobs;
  for (int i = 0; i < 2000; ++i) jobs.push_back(MakeJob(i, kBase + i));
  Insert(jobs);
  ASSERT_EQ(ClaimJobs(Claim(1, kBase + kSecond)).size(), 1u);
  database().Query("ANALYZE ml_jobs");
  for (const store::postgres::PgStatement& statement :
       {store::postgres::kCompleteJobs, store::postgres::kCompleteJobsReturningJobs}) {
    ASSERT_TRUE(statement.generic_plan);
    std::string plan;
    for (const auto& row :
         database().Query("SET plan_cache_mode = force_generic_plan; PREPARE " +
                          std::string(statement.name) + " AS " + std::string(statement.sql) +
                          "; EXPLAIN EXECUTE " + std::string(statement.name) + "('{" + Uuid(1) +
                          "}', '{" + Uuid(2) + "}', '{pos}', '{0.5}', now(), 'running')")) {
      plan += *row[0] + "\n";
    }
    EXPECT_NE(plan.find("Index Scan using ml_jobs_job_uuid_key"), std::string::npos) << plan;
    EXPECT_NE(plan.find("Index Cond: (job_uuid = (t.u)::uuid)"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("ml_jobs_running_lease_idx"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("ml_jobs_status_created_idx"), std::string::npos) << plan;
  }
}

// A claim commits without waiting for its WAL flush (kClaimJobs' async_commit); a
// completion waits. The setting must not outlive the claim's transaction on the
// connection, or completions after it would be acknowledged before they are durable.
TEST_P(PgQueueTableTest, ClaimsCommitAsynchronouslyAndCompletionsDurably) {
  // The test server runs with synchronous_commit off; sessions of this database get the
  // production default. A statement trigger records the mode each update commits under.
  const std::string db = *database().Query("SELECT current_database()")[0][0];
  database().Query("ALTER DATABASE " + db + " SET synchronous_commit = on");
  database().Query("CREATE TABLE commit_modes (n serial, status text, mode text)");
  database().Query(
      "CREATE FUNCTION log_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "INSERT INTO commit_modes (status, mode) SELECT (SELECT min(status) FROM new_rows), "
      "current_setting('synchronous_commit'); RETURN NULL; END $$");
  database().Query(
      "CREATE TRIGGER log_commit_mode AFTER UPDATE ON ml_jobs REFERENCING NEW TABLE AS "
      "new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_commit_mode()");
  store::StoreOptions one_connection;  // so the completion runs where the claim ran
  one_connection.pool_size = 1;
  testing::OpenedStore other = OpenAnotherStore(one_connection);
  jobs::QueueStore& queue = other.backend().queue();

  Insert({MakeJob(1, kBase), MakeJob(2, kBase + 1)});
  obs::RequestStats stats;
  std::vector<Job> claimed = Run(ClaimOne(queue, stats, Claim(2, kBase + kSecond)));
  ASSERT_EQ(claimed.size(), 2u);
  std::vector<Completion> done{Completion{claimed[0].uuid, *claimed[0].lease_token, "pos", 1.0}};
  ASSERT_EQ(Outcomes(Run(queue.CompleteBatch(stats, done, kBase + 2 * kSecond, false))),
            std::vector<LeaseOutcome>{LeaseOutcome::kOk});
  FailRequest fail;
  fail.lease_token = *claimed[1].lease_token;
  fail.error = "boom";
  fail.retry = false;
  fail.now = kBase + 2 * kSecond;
  EXPECT_EQ(Run(queue.Fail(stats, claimed[1].uuid, fail)).outcome, LeaseOutcome::kOk);

  auto modes = database().Query("SELECT status || ' ' || mode FROM commit_modes ORDER BY n");
  ASSERT_EQ(modes.size(), 3u);
  EXPECT_EQ(*modes[0][0], "running off");
  EXPECT_EQ(*modes[1][0], "completed on");
  EXPECT_EQ(*modes[2][0], "failed on");
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueStoreTest, ::testing::Values("sqlite", "postgresql"));
INSTANTIATE_TEST_SUITE_P(Postgresql, PgQueueTableTest, ::testing::Values("postgresql"));

}  // namespace
}  // namespace mljobs

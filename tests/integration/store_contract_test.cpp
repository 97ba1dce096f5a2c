// The JobStore contract, run against every backend on a fresh real database per test:
// keyset paging (ties, both orders, every filter, concurrent inserts), batch atomicity,
// lookups, cancel outcomes, heavy columns, counts, export and statement counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "common/error.hpp"
#include "jobs/job.hpp"
#include "jobs/job_query.hpp"
#include "obs/request_stats.hpp"
#include "support/test_backends.hpp"

namespace mljobs {
namespace {

namespace asio = boost::asio;
using jobs::CancelOutcome;
using jobs::Field;
using jobs::FieldSet;
using jobs::Job;
using jobs::JobFilter;
using jobs::JobStatus;
using jobs::ListQuery;
using jobs::Micros;
using jobs::NewJob;
using jobs::Position;
using jobs::SortOrder;

constexpr Micros kBase = 1'700'000'000'000'000;

// A valid UUIDv7-shaped id for job number n (PostgreSQL stores job_uuid as uuid).
std::string Uuid(long long n) {
  char text[37];
  std::snprintf(text, sizeof text, "01890000-0000-7000-8000-%012llx", n);
  return text;
}

NewJob MakeJob(long long n, Micros created_at, std::string model = "model-a",
               std::string owner = "alice") {
  NewJob job;
  job.uuid = Uuid(n);
  job.owner = std::move(owner);
  job.model = std::move(model);
  job.input_text = "input " + std::to_string(n);
  job.priority = static_cast<int>(n % 7) - 3;
  // jsonb prints objects this way, so the text survives the round trip on both backends.
  job.metadata = "{\"n\": " + std::to_string(n) + "}";
  job.max_attempts = 5;
  job.created_at = created_at;
  return job;
}

std::vector<std::string> UuidsOf(const std::vector<Job>& jobs) {
  std::vector<std::string> uuids;
  for (const Job& job : jobs) uuids.push_back(job.uuid);
  return uuids;
}

class StoreContractTest : public testing::StoreTest {
 protected:
  // What the test knows of each row it inserted.
  struct Row {
    std::string uuid;
    std::int64_t id = 0;
    Micros created_at = 0;
    std::string model;
    std::string owner;
    JobStatus status = JobStatus::kPending;
  };

  void InsertAll(const std::vector<NewJob>& jobs, std::size_t batch = 5000) {
    for (std::size_t i = 0; i < jobs.size(); i += batch) {
      std::size_t n = std::min(batch, jobs.size() - i);
      obs::RequestStats stats;
      Run(store().InsertBatch(stats, std::span<const NewJob>(jobs.data() + i, n)));
      EXPECT_EQ(stats.statements(), 1);
    }
  }

  // Internal ids as the database assigned them, by uuid.
  std::map<std::string, std::int64_t> IdsByUuid() {
    std::map<std::string, std::int64_t> ids;
    for (const auto& row : database().Query("SELECT job_uuid, id FROM ml_jobs")) {
      ids[*row[0]] = std::stoll(*row[1]);
    }
    return ids;
  }

  // 10,000 jobs inserted in a shuffled order (so ids do not follow created_at): numbers
  // 3000..4999 share one created_at, the others come in pairs of equal created_at. Three
  // models, four owners, and every status (set by id, since the API only creates pending).
  std::vector<Row> SeedTenThousand() {
    std::vector<int> numbers(10'000);
    for (int i = 0; i < 10'000; ++i) numbers[i] = i;
    std::mt19937 random(20240601);
    std::shuffle(numbers.begin(), numbers.end(), random);
    std::vector<NewJob> jobs;
    for (int n : numbers) {
      jobs.push_back(MakeJob(n, CreatedAt(n), "model-" + std::to_string(n % 3),
                             "owner-" + std::to_string(n % 4)));
    }
    InsertAll(jobs);
    database().Query(
        "UPDATE ml_jobs SET status = CASE id % 5 WHEN 0 THEN 'pending' WHEN 1 THEN 'running' "
        "WHEN 2 THEN 'completed' WHEN 3 THEN 'failed' ELSE 'cancelled' END");
    std::map<std::string, std::int64_t> ids = IdsByUuid();
    std::vector<Row> rows;
    for (const NewJob& job : jobs) {
      Row row{job.uuid,  ids.at(job.uuid), job.created_at,
              job.model, job.owner,        JobStatus::kPending};
      row.status = static_cast<JobStatus>(row.id % 5);
      rows.push_back(row);
    }
    return rows;
  }

  static Micros CreatedAt(int n) {
    if (n >= 3000 && n < 5000) return kTie;
    return kBase + static_cast<Micros>(n / 2) * 1000;
  }

  static bool Matches(const Row& row, const JobFilter& filter) {
    if (!filter.statuses.empty() && std::find(filter.statuses.begin(), filter.statuses.end(),
                                              row.status) == filter.statuses.end()) {
      return false;
    }
    if (filter.model && row.model != *filter.model) return false;
    if (filter.owner && row.owner != *filter.owner) return false;
    if (filter.created_after && row.created_at < *filter.created_after) return false;
    if (filter.created_before && row.created_at >= *filter.created_before) return false;
    return true;
  }

  static std::vector<std::string> Expected(const std::vector<Row>& rows, const JobFilter& filter,
                                           SortOrder order) {
    std::vector<Row> matching;
    for (const Row& row : rows) {
      if (Matches(row, filter)) matching.push_back(row);
    }
    std::sort(matching.begin(), matching.end(), [&](const Row& a, const Row& b) {
      auto ka = std::make_pair(a.created_at, a.id);
      auto kb = std::make_pair(b.created_at, b.id);
      return order == SortOrder::kAsc ? ka < kb : ka > kb;
    });
    std::vector<std::string> uuids;
    for (const Row& row : matching) uuids.push_back(row.uuid);
    return uuids;
  }

  // Every page of a list, checking each page's size, has_more and statement count.
  std::vector<Job> PageAll(const JobFilter& filter, SortOrder order, int limit) {
    std::vector<Job> all;
    ListQuery query;
    query.filter = filter;
    query.order = order;
    query.limit = limit;
    for (int pages = 0;; ++pages) {
      if (pages > 20'000) {
        ADD_FAILURE() << "paging does not end";
        return all;
      }
      obs::RequestStats stats;
      jobs::Page page = Run(store().List(stats, query));
      EXPECT_EQ(stats.statements(), 1);
      EXPECT_LE(page.jobs.size(), static_cast<std::size_t>(limit));
      all.insert(all.end(), page.jobs.begin(), page.jobs.end());
      if (!page.has_more) return all;
      EXPECT_EQ(page.jobs.size(), static_cast<std::size_t>(limit)) << "short page with has_more";
      if (page.jobs.empty()) return all;
      query.after = Position{page.jobs.back().created_at, page.jobs.back().id};
    }
  }

  void ExpectPagesMatch(const std::vector<Row>& rows, const JobFilter& filter) {
    for (SortOrder order : {SortOrder::kDesc, SortOrder::kAsc}) {
      SCOPED_TRACE(order == SortOrder::kDesc ? "desc" : "asc");
      std::vector<std::string> expected = Expected(rows, filter, order);
      ASSERT_FALSE(expected.empty()) << "a filter the data set does not exercise";
      EXPECT_EQ(UuidsOf(PageAll(filter, order, 97)), expected);
      // A page size that divides the tie group, so pages start and end on it too.
      EXPECT_EQ(UuidsOf(PageAll(filter, order, 500)), expected);
    }
  }

  std::int64_t CountExact(const JobFilter& filter) {
    obs::RequestStats stats;
    jobs::CountResult count = Run(store().Count(stats, filter, false));
    EXPECT_FALSE(count.is_estimate);
    return count.total;
  }

  static constexpr Micros kTie = kBase + 2000 * 1000 + 1;
};

TEST_P(StoreContractTest, PagesEveryJobOnceInOrderWithoutFilter) {
  std::vector<Row> rows = SeedTenThousand();
  ExpectPagesMatch(rows, JobFilter{});
}

TEST_P(StoreContractTest, PagesEveryJobOnceByOneStatus) {
  std::vector<Row> rows = SeedTenThousand();
  JobFilter filter;
  filter.statuses = {JobStatus::kRunning};
  ExpectPagesMatch(rows, filter);
}

TEST_P(StoreContractTest, PagesEveryJobOnceBySeveralStatuses) {
  std::vector<Row> rows = SeedTenThousand();
  JobFilter filter;
  filter.statuses = {JobStatus::kPending, JobStatus::kFailed, JobStatus::kCancelled};
  ExpectPagesMatch(rows, filter);
  filter.statuses = {JobStatus::kPending, JobStatus::kRunning, JobStatus::kCompleted,
                     JobStatus::kFailed, JobStatus::kCancelled};
  ExpectPagesMatch(rows, filter);
}

TEST_P(StoreContractTest, PagesEveryJobOnceByModel) {
  std::vector<Row> rows = SeedTenThousand();
  JobFilter filter;
  filter.model = "model-1";
  ExpectPagesMatch(rows, filter);
}

TEST_P(StoreContractTest, PagesEveryJobOnceByOwner) {
  std::vector<Row> rows = SeedTenThousand();
  JobFilter filter;
  filter.owner = "owner-2";
  ExpectPagesMatch(rows, filter);
}

TEST_P(StoreContractTest, PagesEveryJobOnceByDateRange) {
  std::vector<Row> rows = SeedTenThousand();
  JobFilter filter;
  // From the tie (inclusive) to a created_at that exists (exclusive).
  filter.created_after = kTie;
  filter.created_before = CreatedAt(8000);
  ExpectPagesMatch(rows, filter);
  // The range's bounds fall inside the pairs of equal created_at.
  filter.created_after = CreatedAt(101);
  filter.created_before = CreatedAt(2001);
  ExpectPagesMatch(rows, filter);
}

TEST_P(StoreContractTest, PagesEveryJobOnceByCombinedFilters) {
  std::vector<Row> rows = SeedTenThousand();
  JobFilter filter;
  filter.statuses = {JobStatus::kRunning, JobStatus::kCompleted};
  filter.model = "model-2";
  filter.owner = "owner-1";
  filter.created_after = CreatedAt(1000);
  ExpectPagesMatch(rows, filter);
  filter.statuses = {JobStatus::kFailed};
  filter.created_after.reset();
  filter.created_before = kTie + 1;
  ExpectPagesMatch(rows, filter);
}

TEST_P(StoreContractTest, PagingWhileJobsAreInsertedNeverRepeatsOrSkipsAnOldJob) {
  // 3,000 old jobs: 1,000 of them on one created_at, the rest in pairs.
  std::vector<NewJob> old_jobs;
  for (int n = 0; n < 3000; ++n) {
    old_jobs.push_back(MakeJob(n, n < 1000 ? kTie : kBase + (n / 2) * 1000));
  }
  InsertAll(old_jobs);
  std::set<std::string> old_uuids;
  for (const NewJob& job : old_jobs) old_uuids.insert(job.uuid);

  for (SortOrder order : {SortOrder::kDesc, SortOrder::kAsc}) {
    SCOPED_TRACE(order == SortOrder::kDesc ? "desc" : "asc");
    const long long first_new = order == SortOrder::kDesc ? 100'000 : 200'000;
    bool paging_done = false;
    bool writer_stopped = false;
    long long inserted = 0;
    // A writer running beside the pager, adding jobs all over the created_at range
    // (before, inside and after the tie) until paging ends.
    auto writer = [&]() -> asio::awaitable<void> {
      std::mt19937 random(7);
      std::uniform_int_distribution<int> spread(-10, 1600);
      while (!paging_done) {
        obs::RequestStats stats;
        int step = spread(random);
        Micros created_at = step < 0 ? kTie : kBase + step * 1000;
        co_await store().Insert(stats, MakeJob(first_new + inserted, created_at));
        ++inserted;
      }
    };
    std::vector<Job> seen;
    auto pager = [&]() -> asio::awaitable<void> {
      ListQuery query;
      query.order = order;
      query.limit = 50;
      asio::steady_timer timer(co_await asio::this_coro::executor);
      while (true) {
        obs::RequestStats stats;
        jobs::Page page = co_await store().List(stats, query);
        seen.insert(seen.end(), page.jobs.begin(), page.jobs.end());
        if (!page.has_more || page.jobs.empty()) break;
        query.after = Position{page.jobs.back().created_at, page.jobs.back().id};
        // Also a job on exactly the cursor's created_at, which sorts on either side of the
        // cursor by id: the case a created_at-only cursor gets wrong.
        obs::RequestStats stats2;
        co_await store().Insert(stats2,
                                MakeJob(first_new + 50'000 + static_cast<long long>(seen.size()),
                                        query.after->created_at));
        // Let the writer land at least one insert between pages.
        const long long mark = inserted;
        while (inserted == mark && !writer_stopped) {
          timer.expires_after(std::chrono::milliseconds(1));
          co_await timer.async_wait(asio::use_awaitable);
        }
      }
      paging_done = true;
    };
    std::exception_ptr writer_error;
    asio::co_spawn(io(), writer(), [&](std::exception_ptr e) {
      writer_error = e;
      writer_stopped = true;
    });
    Run(pager());  // runs the writer too, to its last insert
    if (writer_error) std::rethrow_exception(writer_error);
    EXPECT_GT(inserted, 0);

    std::map<std::string, int> times_seen;
    for (const Job& job : seen) ++times_seen[job.uuid];
    for (const std::string& uuid : old_uuids) {
      EXPECT_EQ(times_seen[uuid], 1) << uuid;
    }
    for (const auto& [uuid, times] : times_seen) EXPECT_EQ(times, 1) << uuid;
    for (std::size_t i = 1; i < seen.size(); ++i) {
      auto prev = std::make_pair(seen[i - 1].created_at, seen[i - 1].id);
      auto cur = std::make_pair(seen[i].created_at, seen[i].id);
      if (order == SortOrder::kDesc) {
        ASSERT_GT(prev, cur) << "at " << i;
      } else {
        ASSERT_LT(prev, cur) << "at " << i;
      }
    }
  }
}

TEST_P(StoreContractTest, InsertReturnsTheStoredJob) {
  NewJob job = MakeJob(1, kBase + 5);
  obs::RequestStats stats;
  Job stored = Run(store().Insert(stats, job));
  EXPECT_EQ(stats.statements(), 1);
  EXPECT_GT(stored.id, 0);
  EXPECT_EQ(stored.uuid, job.uuid);
  EXPECT_EQ(stored.owner, "alice");
  EXPECT_EQ(stored.model, "model-a");
  EXPECT_EQ(stored.input_text, job.input_text);
  EXPECT_EQ(stored.metadata, job.metadata);
  EXPECT_EQ(stored.status, JobStatus::kPending);
  EXPECT_EQ(stored.priority, job.priority);
  EXPECT_EQ(stored.attempts, 0);
  EXPECT_EQ(stored.max_attempts, 5);
  EXPECT_EQ(stored.created_at, kBase + 5);
  EXPECT_EQ(stored.run_after, kBase + 5);
  EXPECT_EQ(stored.updated_at, kBase + 5);
  EXPECT_FALSE(stored.result_label || stored.result_score || stored.error || stored.worker ||
               stored.started_at || stored.completed_at || stored.lease_expires_at);

  NewJob no_metadata = MakeJob(2, kBase + 6);
  no_metadata.metadata.reset();
  EXPECT_FALSE(Run(store().Insert(stats, no_metadata)).metadata.has_value());
}

TEST_P(StoreContractTest, InsertBatchWithADuplicateUuidInsertsNothing) {
  obs::RequestStats stats;
  Run(store().Insert(stats, MakeJob(1, kBase)));

  // A duplicate inside the batch.
  std::vector<NewJob> batch;
  for (int n = 10; n < 20; ++n) batch.push_back(MakeJob(n, kBase + n));
  batch.push_back(MakeJob(15, kBase));
  try {
    Run(store().InsertBatch(stats, batch));
    ADD_FAILURE() << "a duplicate uuid in a batch was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
  }
  EXPECT_EQ(CountExact({}), 1);

  // A uuid that is already stored, last in the batch.
  batch.back() = MakeJob(1, kBase);
  try {
    Run(store().InsertBatch(stats, batch));
    ADD_FAILURE() << "a batch colliding with a stored uuid was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
  }
  EXPECT_EQ(CountExact({}), 1);
  EXPECT_FALSE(Run(store().Get(stats, Uuid(10), std::nullopt)).has_value());

  // The same batch without the collision goes in whole.
  batch.pop_back();
  Run(store().InsertBatch(stats, batch));
  EXPECT_EQ(CountExact({}), 11);
}

TEST_P(StoreContractTest, GetFindsByUuidAndOwner) {
  obs::RequestStats stats;
  NewJob job = MakeJob(42, kBase + 42, "model-g", "bob");
  Job inserted = Run(store().Insert(stats, job));

  obs::RequestStats get_stats;
  std::optional<Job> found = Run(store().Get(get_stats, Uuid(42), std::nullopt));
  EXPECT_EQ(get_stats.statements(), 1);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, inserted.id);
  EXPECT_EQ(found->owner, "bob");
  EXPECT_EQ(found->model, "model-g");
  // Get reads every field, the heavy ones too.
  EXPECT_EQ(found->input_text, job.input_text);
  EXPECT_EQ(found->metadata, job.metadata);
  EXPECT_EQ(found->created_at, kBase + 42);

  obs::RequestStats owner_stats;
  EXPECT_TRUE(Run(store().Get(owner_stats, Uuid(42), std::string("bob"))).has_value());
  EXPECT_EQ(owner_stats.statements(), 1);

  obs::RequestStats other_stats;
  EXPECT_FALSE(Run(store().Get(other_stats, Uuid(42), std::string("alice"))).has_value());
  EXPECT_EQ(other_stats.statements(), 1);

  obs::RequestStats missing_stats;
  EXPECT_FALSE(Run(store().Get(missing_stats, Uuid(43), std::nullopt)).has_value());
  EXPECT_EQ(missing_stats.statements(), 1);
}

TEST_P(StoreContractTest, CancelOutcomes) {
  obs::RequestStats stats;
  InsertAll({MakeJob(1, kBase + 1, "m", "alice"), MakeJob(2, kBase + 2, "m", "alice"),
             MakeJob(3, kBase + 3, "m", "alice")});
  database().Query("UPDATE ml_jobs SET status = 'running' WHERE job_uuid = '" + Uuid(2) + "'");
  database().Query(
      "UPDATE ml_jobs SET status = 'completed', result_label = 'ok' WHERE job_uuid = '" + Uuid(3) +
      "'");
  const Micros now = kBase + 1'000'000;

  obs::RequestStats pending_stats;
  jobs::CancelResult pending = Run(store().Cancel(pending_stats, Uuid(1), std::nullopt, now));
  EXPECT_EQ(pending_stats.statements(), 1);
  EXPECT_EQ(pending.outcome, CancelOutcome::kCancelled);
  ASSERT_TRUE(pending.job.has_value());
  EXPECT_EQ(pending.job->status, JobStatus::kCancelled);
  EXPECT_EQ(pending.job->completed_at, now);
  EXPECT_EQ(pending.job->updated_at, now);
  EXPECT_EQ(Run(store().Get(stats, Uuid(1), std::nullopt))->status, JobStatus::kCancelled);

  jobs::CancelResult running = Run(store().Cancel(stats, Uuid(2), std::string("alice"), now));
  EXPECT_EQ(running.outcome, CancelOutcome::kCancelled);
  ASSERT_TRUE(running.job.has_value());
  EXPECT_EQ(running.job->status, JobStatus::kCancelled);

  jobs::CancelResult finished = Run(store().Cancel(stats, Uuid(3), std::nullopt, now));
  EXPECT_EQ(finished.outcome, CancelOutcome::kNotCancellable);
  ASSERT_TRUE(finished.job.has_value());
  EXPECT_EQ(finished.job->status, JobStatus::kCompleted);
  std::optional<Job> unchanged = Run(store().Get(stats, Uuid(3), std::nullopt));
  ASSERT_TRUE(unchanged.has_value());
  EXPECT_EQ(unchanged->status, JobStatus::kCompleted);
  EXPECT_EQ(unchanged->result_label, "ok");
  EXPECT_EQ(unchanged->updated_at, kBase + 3);
  EXPECT_FALSE(unchanged->completed_at.has_value());

  // Cancelling twice: the second time it is finished.
  EXPECT_EQ(Run(store().Cancel(stats, Uuid(1), std::nullopt, now + 1)).outcome,
            CancelOutcome::kNotCancellable);
  EXPECT_EQ(Run(store().Get(stats, Uuid(1), std::nullopt))->updated_at, now);

  jobs::CancelResult unknown = Run(store().Cancel(stats, Uuid(99), std::nullopt, now));
  EXPECT_EQ(unknown.outcome, CancelOutcome::kNotFound);
  EXPECT_FALSE(unknown.job.has_value());

  // Someone else's job is not found, and stays as it was.
  InsertAll({MakeJob(4, kBase + 4, "m", "alice")});
  jobs::CancelResult foreign = Run(store().Cancel(stats, Uuid(4), std::string("bob"), now));
  EXPECT_EQ(foreign.outcome, CancelOutcome::kNotFound);
  EXPECT_FALSE(foreign.job.has_value());
  EXPECT_EQ(Run(store().Get(stats, Uuid(4), std::nullopt))->status, JobStatus::kPending);
}

TEST_P(StoreContractTest, ListReadsHeavyColumnsOnlyWhenAsked) {
  InsertAll({MakeJob(1, kBase + 1), MakeJob(2, kBase + 2)});
  ListQuery query;
  obs::RequestStats stats;

  query.fields = FieldSet::Light();
  jobs::Page light = Run(store().List(stats, query));
  ASSERT_EQ(light.jobs.size(), 2u);
  for (const Job& job : light.jobs) {
    EXPECT_FALSE(job.input_text.has_value());
    EXPECT_FALSE(job.metadata.has_value());
    EXPECT_EQ(job.model, "model-a");
  }

  query.fields = FieldSet::Light().With(Field::kInputText);
  jobs::Page with_input = Run(store().List(stats, query));
  ASSERT_EQ(with_input.jobs.size(), 2u);
  EXPECT_EQ(with_input.jobs[0].input_text, "input 2");
  EXPECT_FALSE(with_input.jobs[0].metadata.has_value());

  query.fields = FieldSet::Light().With(Field::kMetadata);
  jobs::Page with_metadata = Run(store().List(stats, query));
  ASSERT_EQ(with_metadata.jobs.size(), 2u);
  EXPECT_FALSE(with_metadata.jobs[0].input_text.has_value());
  EXPECT_EQ(with_metadata.jobs[0].metadata, "{\"n\": 2}");

  query.fields = FieldSet::All();
  jobs::Page all = Run(store().List(stats, query));
  ASSERT_EQ(all.jobs.size(), 2u);
  EXPECT_EQ(all.jobs[1].input_text, "input 1");
  EXPECT_EQ(all.jobs[1].metadata, "{\"n\": 1}");
}

TEST_P(StoreContractTest, ListAndGetRunOneStatementEach) {
  std::vector<Row> rows = SeedTenThousand();
  std::vector<JobFilter> filters(4);
  filters[1].statuses = {JobStatus::kRunning};
  filters[2].statuses = {JobStatus::kRunning, JobStatus::kFailed, JobStatus::kCancelled};
  filters[3].model = "model-0";
  filters[3].owner = "owner-0";
  filters[3].created_after = kBase;
  for (const JobFilter& filter : filters) {
    ListQuery query;
    query.filter = filter;
    query.after = Position{kTie, rows[0].id};
    query.fields = FieldSet::All();
    obs::RequestStats stats;
    jobs::Page page = Run(store().List(stats, query));
    EXPECT_EQ(stats.statements(), 1);
    EXPECT_EQ(page.jobs.size(), static_cast<std::size_t>(jobs::kDefaultPageSize));
  }
  obs::RequestStats stats;
  ASSERT_TRUE(Run(store().Get(stats, rows[123].uuid, rows[123].owner)).has_value());
  EXPECT_EQ(stats.statements(), 1);
}

TEST_P(StoreContractTest, ExactCountMatches) {
  std::vector<Row> rows = SeedTenThousand();
  std::vector<JobFilter> filters(7);
  filters[1].statuses = {JobStatus::kCompleted};
  filters[2].statuses = {JobStatus::kPending, JobStatus::kRunning};
  filters[3].model = "model-2";
  filters[4].owner = "owner-3";
  filters[5].created_after = kTie;
  filters[5].created_before = CreatedAt(9000);
  filters[6].statuses = {JobStatus::kFailed, JobStatus::kCancelled};
  filters[6].model = "model-1";
  filters[6].created_before = kTie + 1;
  for (const JobFilter& filter : filters) {
    std::int64_t expected = std::count_if(rows.begin(), rows.end(),
                                          [&](const Row& row) { return Matches(row, filter); });
    EXPECT_EQ(CountExact(filter), expected);
  }
  JobFilter none;
  none.model = "no-such-model";
  EXPECT_EQ(CountExact(none), 0);
}

TEST_P(StoreContractTest, EstimatedCountSaysItIsAnEstimate) {
  SeedTenThousand();
  JobFilter filter;
  filter.statuses = {JobStatus::kPending};
  for (const JobFilter& f : {JobFilter{}, filter}) {
    obs::RequestStats stats;
    jobs::CountResult count = Run(store().Count(stats, f, true));
    EXPECT_TRUE(count.is_estimate);
    EXPECT_GE(count.total, 0);
  }
}

TEST_P(StoreContractTest, ExportYieldsEachOfAHundredThousandJobsOnce) {
  std::vector<NewJob> jobs;
  for (int n = 0; n < 100'000; ++n) {
    // Runs of 100 equal created_at, so chunk boundaries fall inside ties.
    jobs.push_back(MakeJob(n, kBase + (n / 100) * 1000, n % 10 == 0 ? "rare" : "common"));
  }
  InsertAll(jobs, 10'000);

  for (SortOrder order : {SortOrder::kDesc, SortOrder::kAsc}) {
    SCOPED_TRACE(order == SortOrder::kDesc ? "desc" : "asc");
    std::vector<std::pair<Micros, std::int64_t>> keys;
    std::set<std::string> uuids;
    std::size_t largest_chunk = 0;
    int chunks = 0;
    jobs::ExportSink sink = [&](std::span<const Job> chunk) -> asio::awaitable<bool> {
      ++chunks;
      largest_chunk = std::max(largest_chunk, chunk.size());
      for (const Job& job : chunk) {
        keys.emplace_back(job.created_at, job.id);
        uuids.insert(job.uuid);
        EXPECT_FALSE(job.input_text.has_value());
      }
      co_return true;
    };
    obs::RequestStats stats;
    Run(store().Export(stats, JobFilter{}, order, FieldSet::Light(), 1000, sink));
    EXPECT_EQ(keys.size(), 100'000u);
    EXPECT_EQ(uuids.size(), 100'000u);
    EXPECT_EQ(largest_chunk, 1000u);
    EXPECT_GE(chunks, 100);
    // A statement per chunk, plus at most a constant few around them (a transaction, a
    // cursor); never one per row.
    EXPECT_LE(stats.statements(), chunks + 5);
    for (std::size_t i = 1; i < keys.size(); ++i) {
      if (order == SortOrder::kDesc) {
        ASSERT_GT(keys[i - 1], keys[i]) << "at " << i;
      } else {
        ASSERT_LT(keys[i - 1], keys[i]) << "at " << i;
      }
    }
  }

  // A filter and the heavy columns.
  JobFilter rare;
  rare.model = "rare";
  std::set<std::string> rare_uuids;
  jobs::ExportSink rare_sink = [&](std::span<const Job> chunk) -> asio::awaitable<bool> {
    for (const Job& job : chunk) {
      EXPECT_EQ(job.model, "rare");
      EXPECT_TRUE(job.input_text.has_value());
      rare_uuids.insert(job.uuid);
    }
    co_return true;
  };
  obs::RequestStats stats;
  Run(store().Export(stats, rare, SortOrder::kDesc, FieldSet::All(), 777, rare_sink));
  EXPECT_EQ(rare_uuids.size(), 10'000u);
}

// Every field of an exported job is the row's own, whatever the rows of earlier chunks held
// (a store may reuse one chunk's jobs for the next): rows alternate between set and NULL
// values of each nullable column, across chunk boundaries.
TEST_P(StoreContractTest, ExportedJobsHoldExactlyWhatGetReads) {
  std::vector<NewJob> jobs;
  for (int n = 0; n < 60; ++n) jobs.push_back(MakeJob(n, kBase + n));
  InsertAll(jobs);
  database().Query(
      "UPDATE ml_jobs SET status = 'completed', result_label = 'label-' || id, "
      "result_score = id * 0.5, worker = 'a-worker-with-a-long-name-' || id, "
      "started_at = created_at, completed_at = created_at WHERE id % 3 = 0");
  database().Query("UPDATE ml_jobs SET status = 'failed', error = 'failed: ' || id, "
                   "attempts = 2, lease_expires_at = run_after WHERE id % 3 = 1");
  database().Query("UPDATE ml_jobs SET metadata = NULL WHERE id % 4 = 0");
  auto text = [](const Job& j) {
    auto opt = [](const auto& v) {
      if (!v) return std::string("null");
      if constexpr (std::is_same_v<std::decay_t<decltype(*v)>, std::string>) {
        return "'" + *v + "'";
      } else {
        return std::to_string(*v);
      }
    };
    return std::to_string(j.id) + " " + j.uuid + " " + j.owner + " " + j.model + " " +
           opt(j.input_text) + " " + std::string(jobs::ToString(j.status)) + " " +
           std::to_string(j.priority) + " " + opt(j.result_label) + " " + opt(j.result_score) +
           " " + opt(j.error) + " " + opt(j.metadata) + " " + std::to_string(j.attempts) + " " +
           std::to_string(j.max_attempts) + " " + std::to_string(j.run_after) + " " +
           opt(j.lease_token) + " " + opt(j.lease_expires_at) + " " + opt(j.worker) + " " +
           std::to_string(j.created_at) + " " + opt(j.started_at) + " " + opt(j.completed_at) +
           " " + std::to_string(j.updated_at) + (j.archived ? " archived" : "");
  };
  std::vector<std::string> exported;
  jobs::ExportSink sink = [&](std::span<const Job> chunk) -> asio::awaitable<bool> {
    for (const Job& job : chunk) exported.push_back(text(job));
    co_return true;
  };
  obs::RequestStats stats;
  Run(store().Export(stats, JobFilter{}, SortOrder::kAsc, FieldSet::All(), 7, sink));
  ASSERT_EQ(exported.size(), jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    std::optional<Job> stored = Run(store().Get(stats, jobs[i].uuid, std::nullopt));
    ASSERT_TRUE(stored);
    EXPECT_EQ(exported[i], text(*stored));
  }
}

TEST_P(StoreContractTest, ExportStopsWhenTheSinkSaysSo) {
  std::vector<NewJob> jobs;
  for (int n = 0; n < 5000; ++n) jobs.push_back(MakeJob(n, kBase + n));
  InsertAll(jobs);
  int calls = 0;
  std::size_t rows = 0;
  jobs::ExportSink sink = [&](std::span<const Job> chunk) -> asio::awaitable<bool> {
    ++calls;
    rows += chunk.size();
    co_return calls < 3;
  };
  obs::RequestStats stats;
  Run(store().Export(stats, JobFilter{}, SortOrder::kAsc, FieldSet::Light(), 100, sink));
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(rows, 300u);
  // Nothing read past the third chunk (50 would make the whole table), give or take a
  // constant few statements around the chunks.
  EXPECT_LE(stats.statements(), 3 + 5);
}

TEST_P(StoreContractTest, ExportWhileJobsAreInsertedYieldsEveryOldJobOnce) {
  std::vector<NewJob> jobs;
  for (int n = 0; n < 3000; ++n) jobs.push_back(MakeJob(n, kBase + (n / 10) * 1000));
  InsertAll(jobs);
  for (SortOrder order : {SortOrder::kDesc, SortOrder::kAsc}) {
    SCOPED_TRACE(order == SortOrder::kDesc ? "desc" : "asc");
    const long long first_new = order == SortOrder::kDesc ? 100'000 : 200'000;
    long long inserted = 0;
    std::map<std::string, int> times_seen;
    jobs::ExportSink sink = [&](std::span<const Job> chunk) -> asio::awaitable<bool> {
      for (const Job& job : chunk) ++times_seen[job.uuid];
      // New jobs behind, on and ahead of the chunk's last row, while the export goes on.
      const Micros last = chunk.back().created_at;
      for (Micros created_at : {kBase, last, last + 1, kBase + 400 * 1000}) {
        obs::RequestStats stats;
        co_await store().Insert(stats, MakeJob(first_new + inserted++, created_at));
      }
      co_return true;
    };
    obs::RequestStats stats;
    Run(store().Export(stats, JobFilter{}, order, FieldSet::Light(), 250, sink));
    EXPECT_GT(inserted, 0);
    for (const NewJob& job : jobs) EXPECT_EQ(times_seen[job.uuid], 1) << job.uuid;
    for (const auto& [uuid, times] : times_seen) EXPECT_EQ(times, 1) << uuid;
  }
}

TEST_P(StoreContractTest, ServerSecretIsStableAndPingWorks) {
  obs::RequestStats stats;
  std::string secret = Run(store().ServerSecret(stats));
  EXPECT_GE(secret.size(), 32u);
  EXPECT_EQ(Run(store().ServerSecret(stats)), secret);
  // Migrating again changes nothing.
  Run(store().Migrate());
  EXPECT_EQ(Run(store().ServerSecret(stats)), secret);
  testing::OpenedStore other = OpenAnotherStore();
  EXPECT_EQ(Run(other->ServerSecret(stats)), secret);

  obs::RequestStats ping_stats;
  Run(store().Ping(ping_stats));
  EXPECT_EQ(ping_stats.statements(), 1);
}

TEST_P(StoreContractTest, BackendNamesItself) { EXPECT_EQ(store().Backend(), GetParam()); }

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace mljobs

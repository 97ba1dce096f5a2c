// The real `mljobs worker` binary against an in-process server on each backend: jobs go
// through a `--exec` shell model (and the built-in demo model) and complete, SIGTERM ends
// the worker cleanly, and a job cancelled while its model runs frees its slot at once. The binary is the one built next to this test (../mljobs).
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "support/api_server.hpp"

extern char** environ;

namespace mljobs::testing {
namespace {

namespace json = boost::json;

std::string MljobsBinary() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "mljobs")
      .string();
}

class Worker {
 public:
  explicit Worker(std::vector<std::string> args) {
    args.insert(args.begin(), {MljobsBinary(), "worker"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ);
    if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  }
  ~Worker() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // SIGTERM, then the exit status (-1 when it did not exit within 30 s: a hang).
  int Stop() {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

class QueueWorkerTest : public ApiServerTest {
 protected:
  void SubmitBatch(const std::vector<std::string>& texts) {
    json::array jobs;
    for (const auto& t : texts) jobs.push_back(json::object{{"model", "m"}, {"input_text", t}});
    ASSERT_EQ(server_->Post("/jobs/batch", json::serialize(json::object{{"jobs", jobs}})).status, 201);
  }

  // Waits (bounded, against a hang) until `n` jobs are completed.
  bool WaitCompleted(int n) {
    for (int i = 0; i < 300; ++i) {
      if (*db_->Query("SELECT count(*) FROM ml_jobs WHERE status = 'completed'")[0][0] ==
          std::to_string(n)) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Waits (bounded) until the only job is running; returns its id.
  std::string WaitRunning() {
    for (int i = 0; i < 300; ++i) {
      auto rows = db_->Query("SELECT job_uuid FROM ml_jobs WHERE status = 'running'");
      if (!rows.empty()) return *rows[0][0];
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "";
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
};

TEST_P(QueueWorkerTest, ExecModelCompletesEveryJobAndSigtermExitsCleanly) {
  std::vector<std::string> texts;
  for (int i = 0; i < 30; ++i) texts.push_back("text " + std::to_string(i));
  SubmitBatch(texts);
  // A model process of one line per job, echoing the job's id back as its label.
  Worker worker({"--server", Url(), "--token", "t", "--concurrency", "2", "--batch", "4",
                 "--exec",
                 "while read -r line; do id=${line#*\\\"id\\\":\\\"}; id=${id%%\\\"*}; "
                 "echo \"{\\\"label\\\":\\\"$id\\\",\\\"score\\\":0.25}\"; done"});
  ASSERT_TRUE(WaitCompleted(30));
  EXPECT_EQ(worker.Stop(), 0);
  auto rows = db_->Query(GetParam() == "sqlite"
                             ? "SELECT count(*) FROM ml_jobs WHERE result_label = job_uuid "
                               "AND result_score = 0.25 AND attempts = 1"
                             : "SELECT count(*) FROM ml_jobs WHERE result_label = job_uuid::text "
                               "AND result_score = 0.25 AND attempts = 1");
  EXPECT_EQ(rows[0][0], "30");
}

TEST_P(QueueWorkerTest, DemoSentimentModel) {
  SubmitBatch({"I love this, it is great", "terrible and slow, not good", "the sky is blue"});
  Worker worker({"--server", Url(), "--token", "t", "--model", "demo-sentiment"});
  ASSERT_TRUE(WaitCompleted(3));
  EXPECT_EQ(worker.Stop(), 0);
  auto rows = db_->Query("SELECT input_text, result_label FROM ml_jobs ORDER BY id");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][1], "positive");
  EXPECT_EQ(rows[1][1], "negative");
  EXPECT_EQ(rows[2][1], "neutral");
}

// The model takes 120 s over the first job; cancelling it must not keep the only slot busy
// that long: the next heartbeat (every second with 3 s leases) answers 409 cancelled, the
// worker kills that model process, starts a fresh one and completes the next job well
// within WaitCompleted's 30 s.
TEST_P(QueueWorkerTest, CancelWhileRunningKillsTheModelAndFreesTheSlot) {
  SubmitBatch({"slow"});
  Worker worker({"--server", Url(), "--token", "t", "--concurrency", "1", "--batch", "1",
                 "--lease-seconds", "3", "--exec",
                 "while read -r line; do case \"$line\" in *slow*) sleep 120;; esac; "
                 "echo '{\"label\":\"done\",\"score\":1}'; done"});
  const std::string slow = WaitRunning();
  ASSERT_FALSE(slow.empty());
  ASSERT_EQ(server_->Post("/jobs/" + slow + "/cancel", "").status, 200);
  SubmitBatch({"fast"});
  ASSERT_TRUE(WaitCompleted(1));
  EXPECT_EQ(worker.Stop(), 0);
  auto rows = db_->Query("SELECT input_text, status, result_label FROM ml_jobs ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][1], "cancelled");
  EXPECT_EQ(rows[0][2], std::nullopt);
  EXPECT_EQ(rows[1][1], "completed");
  EXPECT_EQ(rows[1][2], "done");
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueWorkerTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace mljobs::testing

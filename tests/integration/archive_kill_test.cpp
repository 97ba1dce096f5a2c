// Crash safety of archival on both backends: the real `mljobs serve` binary is killed with
// SIGKILL in the middle of archiving 200,000 jobs, restarted, and archives again; at every
// point each job is in exactly one of ml_jobs and ml_jobs_archive.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "store/sqlite/sqlite_stats_statements.hpp"
#include "support/api_server.hpp"

extern char** environ;

namespace mljobs::testing {
namespace {

// As the issue asks, on both backends.
constexpr int kJobs = 200'000;

// The mljobs binary of this build: tests live in <build>/tests/, the binary in <build>/.
std::string MljobsBinary() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "mljobs")
      .string();
}

std::uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t size = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  close(fd);
  return ntohs(addr.sin_port);
}

// A `mljobs serve` child process, killed with SIGKILL unless already reaped.
class ServerProcess {
 public:
  ServerProcess(const std::string& url, std::uint16_t port) : port_(port) {
    std::vector<std::string> args{MljobsBinary(), "serve", "--db", url, "--listen",
                                  "127.0.0.1:" + std::to_string(port), "--auth", "off"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start " + args[0]);
    }
    // Ready when /healthz answers; bounded so a broken start fails instead of hanging.
    for (int i = 0; i < 300; ++i) {
      try {
        if (Send(port_, "GET", "/healthz").status == 200) return;
      } catch (const std::runtime_error&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Kill();
    throw std::runtime_error("mljobs serve did not become ready");
  }
  ~ServerProcess() { Kill(); }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  std::uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_;
};

class ArchiveKillTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (auto why = BackendUnavailable(GetParam())) GTEST_SKIP() << *why;
    db_ = std::make_unique<TestDatabase>(GetParam());
  }
  std::int64_t Int(const std::string& sql) { return std::stoll(*db_->Query(sql)[0][0]); }

  void ExpectEachJobOnce() {
    const std::string all = "(SELECT id FROM ml_jobs UNION ALL SELECT id FROM ml_jobs_archive) a";
    EXPECT_EQ(Int("SELECT count(*) FROM " + all), kJobs);
    EXPECT_EQ(Int("SELECT count(DISTINCT id) FROM " + all), kJobs);
    EXPECT_EQ(Int("SELECT min(id) FROM " + all), 1);
    EXPECT_EQ(Int("SELECT max(id) FROM " + all), kJobs);
  }

  std::unique_ptr<TestDatabase> db_;
};

TEST_P(ArchiveKillTest, KilledMidArchiveLosesAndDuplicatesNothing) {
  const bool pg = GetParam() == kPostgresqlBackend;
  {
    ServerProcess migrate_only(db_->url(), FreePort());  // serve migrates on start
  }
  const std::string n = std::to_string(kJobs);
  if (pg) {
    db_->Query("INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, run_after, "
               "created_at, updated_at, started_at, completed_at) SELECT gen_random_uuid(), 'o', "
               "'m' || (i % 3), 'x', 'completed', t, t, t, t, t FROM generate_series(1, " + n +
               ") AS i, LATERAL (SELECT now() - interval '40 days' + i * interval '1 second' "
               "AS t) AS x");
  } else {
    // The documented bulk-load pattern (jobs/stats_store.hpp): counting paused for the load,
    // then the counters rebuilt with the store's own statements, one set-based pass.
    db_->Query("INSERT INTO mljobs_meta (key, value) VALUES ('counters_paused', '1'); "
               "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < " + n +
               "), x AS (SELECT i, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"
               " - 40 * 86400000000 + i * 1000000 AS t FROM g) "
               "INSERT INTO ml_jobs (job_uuid, owner, model, input_text, status, run_after, "
               "created_at, updated_at, started_at, completed_at) SELECT "
               "lower(hex(randomblob(16))), 'o', 'm' || (i % 3), 'x', 'completed', t, t, t, t, t "
               "FROM x; DELETE FROM mljobs_meta WHERE key = 'counters_paused'; BEGIN IMMEDIATE; " +
               std::string(store::sqlite::kRebuildClear.sql()) + "; " +
               std::string(store::sqlite::kRebuildFill.sql()) + "; COMMIT");
  }
  std::int64_t at_kill = 0;
  {
    ServerProcess server(db_->url(), FreePort());
    std::thread client([port = server.port()] {
      try {
        Send(port, "POST", "/admin/archive-jobs?days_old=30&batch_size=200");
      } catch (const std::runtime_error&) {
        // expected: the server dies under the request
      }
    });
    // Kill once the archive is under way (bounded wait).
    for (int i = 0; i < 600 && at_kill == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      at_kill = Int("SELECT count(*) FROM ml_jobs_archive");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.Kill();
    client.join();
  }
  if (GetParam() == "postgresql") {
    // A batch whose statement had reached PostgreSQL still commits after the kill (the
    // backend finishes it before it notices the closed socket): count once the killed
    // server's sessions are gone. Bounded.
    for (int i = 0; i < 600; ++i) {
      if (Int("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
              "AND pid <> pg_backend_pid() AND backend_type = 'client backend'") == 0) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::int64_t archived = Int("SELECT count(*) FROM ml_jobs_archive");
  ASSERT_GT(archived, 0);
  ASSERT_LT(archived, kJobs) << "the archive finished before the kill: not a mid-way crash";
  ExpectEachJobOnce();

  ServerProcess again(db_->url(), FreePort());
  // Bounded, with room for the ~200,000 rows left on a loaded 2-core machine.
  HttpResult r;
  // On PostgreSQL the killed server's run lock goes with its session, which the server ends
  // once it notices the closed socket: until then a new run is refused (409). Bounded.
  for (int attempt = 0; attempt < 50; ++attempt) {
    HttpConnection connection(again.port(), std::chrono::seconds(120));
    r = connection.Send("POST", "/admin/archive-jobs?days_old=30", "", {{"Connection", "close"}});
    if (r.status != 409) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r).at("archived"), kJobs - archived);
  EXPECT_EQ(Int("SELECT count(*) FROM ml_jobs"), 0);
  ExpectEachJobOnce();
  // The counters survived the crash too.
  HttpResult stats = Send(again.port(), "GET", "/jobs/stats");
  EXPECT_EQ(Json(stats).at("archived").at("total"), kJobs);
  EXPECT_EQ(Json(stats).at("total"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ArchiveKillTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace mljobs::testing

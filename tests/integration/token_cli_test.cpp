// `mljobs token create|list|revoke` run as the real binary on each backend: create prints
// the token once (and the database holds only its hash), list shows no secret, revoke
// works once. Needs the mljobs binary built next to the tests (build/<dir>/mljobs).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <sys/wait.h>

#include "jobs/auth_service.hpp"
#include "support/test_backends.hpp"

namespace mljobs::testing {
namespace {

struct Output {
  int exit_code = -1;
  std::string out;  // stdout only; stderr goes to the test's stderr
};

std::string MljobsBinary() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "mljobs")
      .string();
}

// Runs `mljobs token <args>` through the shell with single-quoted arguments (the test's
// own values: no quotes inside).
Output RunToken(const std::string& url, const std::string& args) {
  std::string command = "'" + MljobsBinary() + "' token " + args + " --db '" + url + "'";
  Output result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed");
  std::array<char, 4096> buffer;
  std::size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class TokenCliTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (auto why = BackendUnavailable(GetParam())) GTEST_SKIP() << *why;
    ASSERT_TRUE(std::filesystem::exists(MljobsBinary()))
        << MljobsBinary() << " is missing: build the mljobs target first";
    db_ = std::make_unique<TestDatabase>(GetParam());
  }
  std::unique_ptr<TestDatabase> db_;
};

TEST_P(TokenCliTest, CreateShowsTheTokenOnceListShowsNoSecretRevokeWorksOnce) {
  Output created = RunToken(db_->url(), "create --name ci-worker --role worker");
  ASSERT_EQ(created.exit_code, 0);
  ASSERT_TRUE(std::regex_match(created.out, std::regex("mlj_[0-9a-f]{64}\n"))) << created.out;
  const std::string token = created.out.substr(0, created.out.size() - 1);

  auto rows = db_->Query("SELECT name, role, token_hash FROM mljobs_tokens");
  ASSERT_EQ(rows.size(), 1u);  // no serve ran: no bootstrap admin
  EXPECT_EQ(*rows[0][0], "ci-worker");
  EXPECT_EQ(*rows[0][1], "worker");
  EXPECT_EQ(*rows[0][2], jobs::AuthService::HashToken(token));

  Output listed = RunToken(db_->url(), "list");
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_TRUE(std::regex_search(listed.out, std::regex("\nci-worker\tworker\t[0-9TZ:.-]+\t-\n")))
      << listed.out;
  EXPECT_EQ(listed.out.find(token), std::string::npos);
  EXPECT_EQ(listed.out.find(*rows[0][2]), std::string::npos);

  // Names are unique, roles are checked: both fail and change nothing.
  EXPECT_NE(RunToken(db_->url(), "create --name ci-worker --role user").exit_code, 0);
  EXPECT_NE(RunToken(db_->url(), "create --name other --role root").exit_code, 0);
  EXPECT_EQ(db_->Query("SELECT count(*) FROM mljobs_tokens")[0][0], "1");

  EXPECT_EQ(RunToken(db_->url(), "revoke --name ci-worker").exit_code, 0);
  EXPECT_EQ(db_->Query("SELECT count(*) FROM mljobs_tokens WHERE revoked_at IS NOT NULL")[0][0],
            "1");
  EXPECT_EQ(RunToken(db_->url(), "revoke --name ci-worker").exit_code, 1);  // not found
  Output after = RunToken(db_->url(), "list");
  EXPECT_TRUE(std::regex_search(after.out, std::regex("\nci-worker\tworker\t[0-9TZ:.-]+\t[0-9TZ:.-]+\n")))
      << after.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, TokenCliTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace mljobs::testing

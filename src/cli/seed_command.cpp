// `mljobs seed`: migrate, then fill the database with generated jobs (see seed_generator.hpp)
// by bulk load, with progress (rows/s, ETA) on a terminal.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/database_url.hpp"
#include "cli/seed_jobs.hpp"
#include "common/error.hpp"
#include "jobs/time_format.hpp"
#include "store/open_store.hpp"

namespace mljobs::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct SeedFlags {
  std::string db;
  std::int64_t rows = 0;
  std::uint64_t seed = 42;
  std::string now;
};

// One status line on stderr, rewritten in place at most a few times a second.
class TerminalProgress {
 public:
  TerminalProgress(std::int64_t total) : total_(total), enabled_(isatty(STDERR_FILENO) == 1) {}

  void Rows(std::int64_t rows) {
    if (!enabled_) return;
    auto now = Clock::now();
    if (rows < total_ && now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    double seconds = std::chrono::duration<double>(now - start_).count();
    double rate = seconds > 0 ? static_cast<double>(rows) / seconds : 0;
    int eta = rate > 0 ? static_cast<int>(static_cast<double>(total_ - rows) / rate) : 0;
    std::fprintf(stderr, "\rseed: %lld / %lld rows (%d%%), %.0f rows/s, ETA %d:%02d   ",
                 static_cast<long long>(rows), static_cast<long long>(total_),
                 static_cast<int>(100 * rows / total_), rate, eta / 60, eta % 60);
  }

  void Phase(std::string_view phase) {
    if (!enabled_) return;
    double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    std::fprintf(stderr, "\nseed: %.1f s: %.*s...", seconds, static_cast<int>(phase.size()),
                 phase.data());
  }

  void End() {
    if (enabled_) std::fputc('\n', stderr);
  }

 private:
  std::int64_t total_;
  bool enabled_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_{};
};

void RunSeed(const SeedFlags& flags) {
  namespace asio = boost::asio;
  SeedOptions options;
  options.rows = flags.rows;
  options.seed = flags.seed;
  if (flags.now.empty()) {
    options.now = jobs::NowMicros();
  } else if (auto now = jobs::ParseRfc3339(flags.now)) {
    options.now = *now;
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                "--now must be an RFC 3339 time such as 2026-11-22T12:00:00Z (got '" +
                    flags.now + "')");
  }
  std::string url = ResolveDbUrl(flags.db);
  asio::io_context io;
  auto backend = store::OpenBackend(url, io.get_executor(), store::StoreOptions{});
  TerminalProgress terminal(options.rows);
  SeedProgress progress{[&](std::int64_t rows) { terminal.Rows(rows); },
                        [&](std::string_view phase) { terminal.Phase(phase); }};
  auto start = Clock::now();
  auto done = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<SeedResult> {
        co_await backend->jobs().Migrate();
        co_return co_await SeedJobs(*backend, options, progress);
      },
      asio::use_future);
  io.run();
  SeedResult result = done.get();  // rethrows the load's error
  terminal.End();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::fprintf(stderr, "mljobs: seeded %lld jobs into %s in %.1f s (%.0f rows/s)%s\n",
               static_cast<long long>(result.rows), RedactDbUrl(url).c_str(), seconds,
               static_cast<double>(result.rows) / seconds,
               result.table_was_empty ? "; indexes built after the load" : "");
}

}  // namespace

void AddSeedCommand(CLI::App& root) {
  auto flags = std::make_shared<SeedFlags>();
  CLI::App* cmd = root.add_subcommand(
      "seed", "Fill the database with realistic generated jobs (bulk load, one transaction)");
  cmd->add_option("--db", flags->db, kDbHelp);
  cmd->add_option("--rows", flags->rows, "How many jobs to add")
      ->required()
      ->check(CLI::Range(std::int64_t{1}, kMaxSeedRows));
  cmd->add_option("--seed", flags->seed, "Random seed: the same seed gives the same jobs")
      ->default_val(42);
  cmd->add_option("--now", flags->now,
                  "End of the year of created_at (RFC 3339); default: the current time. "
                  "Same --rows, --seed and --now: identical rows");
  cmd->callback([flags] { RunSeed(*flags); });
}

}  // namespace mljobs::cli

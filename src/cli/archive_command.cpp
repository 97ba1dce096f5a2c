// `mljobs archive`: move finished jobs older than N days into ml_jobs_archive, in batches,
// showing progress (rows, rows/s) on a terminal, then a one-line JSON summary on stdout.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/database_url.hpp"
#include "jobs/archive_service.hpp"
#include "jobs/time_format.hpp"
#include "store/open_store.hpp"

namespace mljobs::cli {
namespace {

struct ArchiveOptions {
  std::string db;
  int days_old = 30;
  int batch_size = jobs::kDefaultArchiveBatch;
};

void ShowProgress(const jobs::ArchiveProgress& p) {
  double seconds = std::chrono::duration<double>(p.elapsed).count();
  double rate = seconds > 0 ? static_cast<double>(p.rows) / seconds : 0.0;
  std::fprintf(stderr, "\rmljobs archive: %lld rows in %d batches, %.0f rows/s, batch %d   ",
               static_cast<long long>(p.rows), p.batches, rate, p.batch_size);
}

}  // namespace

void AddArchiveCommand(CLI::App& root) {
  auto options = std::make_shared<ArchiveOptions>();
  CLI::App* cmd = root.add_subcommand(
      "archive", "Move completed, failed and cancelled jobs older than N days to ml_jobs_archive");
  cmd->add_option("--db", options->db, kDbHelp);
  cmd->add_option("--days-old", options->days_old, "Archive jobs that finished this many days ago")
      ->check(CLI::Range(jobs::kMinDaysOld, jobs::kMaxDaysOld));
  cmd->add_option("--batch-size", options->batch_size, "Rows per batch (each batch atomic)")
      ->check(CLI::Range(1, jobs::kMaxArchiveBatch));
  cmd->callback([options] {
    namespace asio = boost::asio;
    std::string url = ResolveDbUrl(options->db);
    asio::io_context io;
    auto backend = store::OpenBackend(url, io.get_executor(), store::StoreOptions{});
    jobs::ArchiveService service(backend->archive());
    const bool terminal = isatty(STDERR_FILENO) != 0;
    auto run = [&]() -> asio::awaitable<jobs::ArchiveResult> {
      co_await backend->jobs().Migrate();
      obs::RequestStats stats;
      co_return co_await service.Archive(stats, options->days_old, options->batch_size,
                                         jobs::NowMicros(),
                                         terminal ? jobs::ArchiveProgressFn(ShowProgress)
                                                  : jobs::ArchiveProgressFn());
    };
    auto done = asio::co_spawn(io, run(), asio::use_future);
    io.run();
    jobs::ArchiveResult result = done.get();  // rethrows an error
    if (terminal) std::fputc('\n', stderr);
    std::cout << "{\"archived\":" << result.archived << ",\"batches\":" << result.batches
              << ",\"elapsed_ms\":" << result.elapsed_ms << ",\"cutoff\":\""
              << jobs::FormatRfc3339(result.cutoff) << "\"}" << std::endl;
  });
}

}  // namespace mljobs::cli

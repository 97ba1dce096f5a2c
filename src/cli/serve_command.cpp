// `mljobs serve`: migrate, then serve the HTTP API until SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <charconv>
#include <iostream>

#include "cli/app.hpp"
#include "cli/commands.hpp"
#include "cli/database_url.hpp"
#include "common/error.hpp"

namespace mljobs::cli {
namespace {

struct ServeFlags {
  std::string db;
  std::string listen = "127.0.0.1:8080";
  int threads = 2;
  int pool_size = 8;
  std::string auth = "on";
  int slow_query_ms = 100;
};

void SplitListen(const std::string& listen, std::string& host, std::uint16_t& port) {
  auto colon = listen.rfind(':');
  unsigned value = 0;
  if (colon == std::string::npos || colon == 0) {
    throw Error(ErrorCode::kInvalidArgument, "--listen must be HOST:PORT (got '" + listen + "')");
  }
  auto digits = std::string_view(listen).substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value > 65535) {
    throw Error(ErrorCode::kInvalidArgument, "--listen port must be 0..65535 (got '" +
                                                 std::string(digits) + "')");
  }
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  port = static_cast<std::uint16_t>(value);
}

void RunServe(const ServeFlags& flags) {
  AppOptions options;
  options.db_url = ResolveDbUrl(flags.db);
  SplitListen(flags.listen, options.host, options.port);
  options.threads = flags.threads;
  options.store.pool_size = flags.pool_size;
  options.auth = flags.auth == "on";
  options.slow_query_ms = flags.slow_query_ms;
  App app(options);
  std::uint16_t port = app.Start();
  std::cerr << "mljobs: serving on http://" << options.host << ":" << port << " (database "
            << RedactDbUrl(options.db_url) << ", " << options.threads << " threads"
            << (options.auth ? "" : ", AUTH OFF: every route is open") << ")" << std::endl;
  app.WaitForSignal();
  std::cerr << "mljobs: stopped" << std::endl;
}

}  // namespace

void AddServeCommand(CLI::App& root) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = root.add_subcommand("serve", "Apply migrations, then serve the HTTP JSON API");
  cmd->add_option("--db", flags->db, kDbHelp);
  cmd->add_option("--listen", flags->listen, "Address to listen on, HOST:PORT")
      ->capture_default_str();
  cmd->add_option("--threads", flags->threads, "io threads serving requests")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--pool-size", flags->pool_size,
                  "Database connections (PostgreSQL pool; SQLite readers)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--auth", flags->auth,
                  "Bearer tokens on every route but /healthz and /readyz; off only on loopback")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  cmd->add_option("--slow-query-ms", flags->slow_query_ms,
                  "Log statements at least this slow (one JSON line on stderr) and keep them "
                  "for /admin/slow-queries")
      ->check(CLI::Range(0, 3'600'000))
      ->capture_default_str();
  cmd->callback([flags] { RunServe(*flags); });
}

}  // namespace mljobs::cli

// `mljobs token create|list|revoke`: manage API tokens. A created token is printed once on
// stdout (nothing else is), so `TOKEN=$(mljobs token create ...)` works; the database keeps
// only its hash.
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/database_url.hpp"
#include "common/error.hpp"
#include "jobs/auth_service.hpp"
#include "jobs/time_format.hpp"
#include "store/open_store.hpp"

namespace mljobs::cli {
namespace {

namespace asio = boost::asio;

struct TokenFlags {
  std::string db;
  std::string name;
  std::string role = "user";
};

// Opens and migrates the database, then runs `task` on an AuthService over it.
template <typename Fn>
void WithAuth(const std::string& db_flag, Fn task) {
  asio::io_context io;
  auto backend = store::OpenBackend(ResolveDbUrl(db_flag), io.get_executor(), {});
  jobs::AuthService auth(backend->tokens());
  auto done = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await backend->jobs().Migrate();
        obs::RequestStats stats;
        co_await task(auth, stats);
      },
      asio::use_future);
  io.run();
  done.get();  // rethrows
}

}  // namespace

void AddTokenCommand(CLI::App& root) {
  auto flags = std::make_shared<TokenFlags>();
  CLI::App* cmd = root.add_subcommand("token", "Create, list and revoke API tokens");
  cmd->require_subcommand(1);

  CLI::App* create = cmd->add_subcommand(
      "create", "Create a token and print it once on stdout (only its hash is stored)");
  create->add_option("--db", flags->db, kDbHelp);
  create->add_option("--name", flags->name, "Unique name; a user's jobs are owned by it")
      ->required();
  create->add_option("--role", flags->role, "admin, worker or user")
      ->check(CLI::IsMember({"admin", "worker", "user"}))
      ->capture_default_str();
  create->callback([flags] {
    WithAuth(flags->db, [flags](jobs::AuthService& auth,
                                obs::RequestStats& stats) -> asio::awaitable<void> {
      jobs::CreatedToken created =
          co_await auth.CreateToken(stats, flags->name, *jobs::ParseRole(flags->role));
      std::cout << created.token << std::endl;
      std::cerr << "mljobs: created " << jobs::RoleName(created.info.role) << " token '"
                << created.info.name << "'; it is shown only this once" << std::endl;
    });
  });

  CLI::App* list = cmd->add_subcommand("list", "List tokens (names, roles, times; never secrets)");
  list->add_option("--db", flags->db, kDbHelp);
  list->callback([flags] {
    WithAuth(flags->db, [](jobs::AuthService& auth,
                           obs::RequestStats& stats) -> asio::awaitable<void> {
      std::vector<jobs::TokenInfo> tokens = co_await auth.ListTokens(stats);
      std::cout << "NAME\tROLE\tCREATED\tREVOKED\n";
      for (const jobs::TokenInfo& t : tokens) {
        std::cout << t.name << '\t' << jobs::RoleName(t.role) << '\t'
                  << jobs::FormatRfc3339(t.created_at) << '\t'
                  << (t.revoked_at ? jobs::FormatRfc3339(*t.revoked_at) : "-") << '\n';
      }
      std::cout.flush();
    });
  });

  CLI::App* revoke = cmd->add_subcommand(
      "revoke", "Revoke a token; a running server stops accepting it within 10 seconds");
  revoke->add_option("--db", flags->db, kDbHelp);
  revoke->add_option("--name", flags->name, "The token's name")->required();
  revoke->callback([flags] {
    WithAuth(flags->db, [flags](jobs::AuthService& auth,
                                obs::RequestStats& stats) -> asio::awaitable<void> {
      co_await auth.RevokeToken(stats, flags->name);
      std::cerr << "mljobs: revoked token '" << flags->name << "'" << std::endl;
    });
  });
}

}  // namespace mljobs::cli

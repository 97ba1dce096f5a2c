// `mljobs migrate`: apply pending schema migrations and exit.
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "cli/database_url.hpp"
#include "store/open_store.hpp"

namespace mljobs::cli {

void AddMigrateCommand(CLI::App& root) {
  auto db = std::make_shared<std::string>();
  CLI::App* cmd = root.add_subcommand("migrate", "Apply pending schema migrations and exit");
  cmd->add_option("--db", *db, kDbHelp);
  cmd->callback([db] {
    namespace asio = boost::asio;
    std::string url = ResolveDbUrl(*db);
    asio::io_context io;
    auto backend = store::OpenBackend(url, io.get_executor(), store::StoreOptions{});
    auto done = asio::co_spawn(io, backend->jobs().Migrate(), asio::use_future);
    io.run();
    done.get();  // rethrows a migration error
    std::cerr << "mljobs: " << RedactDbUrl(url) << " is up to date" << std::endl;
  });
}

}  // namespace mljobs::cli

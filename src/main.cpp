// mljobs: the binary. Subcommands live in src/cli/; errors end here as an exit code.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"
#include "common/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mljobs: ML jobs in a relational database, served fast over HTTP"};
  app.require_subcommand(1);
  mljobs::cli::AddServeCommand(app);
  mljobs::cli::AddMigrateCommand(app);
  mljobs::cli::AddWorkerCommand(app);
  mljobs::cli::AddTokenCommand(app);
  mljobs::cli::AddArchiveCommand(app);
  mljobs::cli::AddSeedCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const mljobs::Error& e) {
    std::cerr << "mljobs: " << e.what() << std::endl;
    return e.code() == mljobs::ErrorCode::kInvalidArgument ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << "mljobs: internal error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}

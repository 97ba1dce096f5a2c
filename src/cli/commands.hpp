// The subcommands of the `mljobs` binary, one file each; main wires them into CLI11.
#pragma once

namespace CLI {
class App;
}

namespace mljobs::cli {

// Each registers its subcommand, flags and help text on the root app.
void AddServeCommand(CLI::App& root);
void AddMigrateCommand(CLI::App& root);
void AddWorkerCommand(CLI::App& root);
void AddTokenCommand(CLI::App& root);
void AddArchiveCommand(CLI::App& root);
void AddSeedCommand(CLI::App& root);

}  // namespace mljobs::cli

// One long-lived model process of `mljobs worker --exec CMD`: `/bin/sh -c CMD` with its
// stdin and stdout on pipes, spoken to one JSON line in, one JSON line out. Used by one
// worker slot thread.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <optional>
#include <string>

namespace mljobs::cli {

class WorkerChild {
 public:
  // Starts the process; throws Error(kUnavailable) when it cannot be started.
  explicit WorkerChild(const std::string& command);
  // Closes its stdin (the end of input) and waits for it to exit.
  ~WorkerChild();
  WorkerChild(const WorkerChild&) = delete;
  WorkerChild& operator=(const WorkerChild&) = delete;

  // Writes `line` plus '\n' and reads one line back (without '\n'). nullopt when the
  // process closed its output or died.
  std::optional<std::string> Ask(const std::string& line);

  // Its pid, which is also its process group (kill(-pid) stops what `sh -c` started too).
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  FILE* to_child_ = nullptr;
  FILE* from_child_ = nullptr;
};

}  // namespace mljobs::cli

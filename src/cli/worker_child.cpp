#include "cli/worker_child.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

extern char** environ;

namespace mljobs::cli {

WorkerChild::WorkerChild(const std::string& command) {
  // Close-on-exec: another slot's model started later must not inherit this one's pipe
  // ends (holding its stdin open, it would keep it from ever seeing end of input).
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    throw Error(ErrorCode::kUnavailable, "pipe: " + std::string(strerror(errno)));
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    throw Error(ErrorCode::kUnavailable, "pipe: " + std::string(strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  // Nothing else of the worker's either (sockets, log files, the caller's output pipe, which
  // a test runner waits on): the model gets stdin, stdout and stderr only.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  // The model process must not receive the terminal's SIGINT before the worker has
  // finished its jobs: it gets its own process group, and ends when its stdin closes.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  int rc = posix_spawn(&pid_, "/bin/sh", &actions, &attr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    throw Error(ErrorCode::kUnavailable, "cannot start '" + command + "': " + strerror(rc));
  }
  to_child_ = fdopen(in[1], "w");
  from_child_ = fdopen(out[0], "r");
}

WorkerChild::~WorkerChild() {
  if (to_child_) fclose(to_child_);
  if (from_child_) fclose(from_child_);
  if (pid_ > 0) {
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

std::optional<std::string> WorkerChild::Ask(const std::string& line) {
  if (fputs(line.c_str(), to_child_) < 0 || fputc('\n', to_child_) == EOF ||
      fflush(to_child_) != 0) {
    return std::nullopt;
  }
  char* buffer = nullptr;
  size_t capacity = 0;
  ssize_t n = getline(&buffer, &capacity, from_child_);
  std::optional<std::string> out;
  if (n >= 0) {
    out.emplace(buffer, static_cast<std::size_t>(n));
    while (!out->empty() && (out->back() == '\n' || out->back() == '\r')) out->pop_back();
  }
  free(buffer);
  return out;
}

}  // namespace mljobs::cli

#include "store/postgres/pg_listener.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <system_error>

#include "store/postgres/pg_queue_statements.hpp"

namespace mljobs::store::postgres {
namespace {

// Bounds one connect attempt, so that stopping never waits long on an unreachable server.
constexpr const char* kConnectTimeoutSeconds = "3";
constexpr int kMaxRetryMillis = 5000;

}  // namespace

PgListener::PgListener(std::string url, jobs::WorkNotifier& notifier)
    : url_(std::move(url)), notifier_(notifier) {
  if (pipe(stop_pipe_) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  thread_ = std::thread([this] { Run(); });
}

PgListener::~PgListener() {
  stopping_ = true;
  char byte = 0;
  (void)!write(stop_pipe_[1], &byte, 1);
  thread_.join();
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
}

bool PgListener::Pause(int ms) {
  pollfd fd{stop_pipe_[0], POLLIN, 0};
  poll(&fd, 1, ms);
  return !stopping_;
}

void PgListener::Run() {
  int retry_ms = 100;
  while (!stopping_) {
    ListenOnce();
    if (!Pause(retry_ms)) return;
    retry_ms = std::min(retry_ms * 2, kMaxRetryMillis);
  }
}

void PgListener::ListenOnce() {
  const char* keys[] = {"dbname", "connect_timeout", nullptr};
  const char* values[] = {url_.c_str(), kConnectTimeoutSeconds, nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  struct Finish {
    PGconn* conn;
    ~Finish() { PQfinish(conn); }
  } finish{conn};
  if (PQstatus(conn) != CONNECTION_OK) return;
  const std::string listen = "LISTEN " + std::string(kNewJobsChannel);
  PGresult* result = PQexec(conn, listen.c_str());
  const bool listening = PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  if (!listening) return;
  // Jobs inserted while no LISTEN was active sent no wake-up anyone heard: wake everyone
  // once so that waiting claims look again.
  notifier_.Notify();
  while (!stopping_) {
    pollfd fds[2] = {{PQsocket(conn), POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (stopping_) return;
    if (PQconsumeInput(conn) == 0) return;  // connection lost: reconnect
    bool any = false;
    while (PGnotify* notify = PQnotifies(conn)) {
      any = true;
      PQfreemem(notify);
    }
    if (any) notifier_.Notify();
  }
}

}  // namespace mljobs::store::postgres

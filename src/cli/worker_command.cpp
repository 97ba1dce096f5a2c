// `mljobs worker`: claims jobs from a server in batches, runs each through a model (a
// long-lived `--exec` process per slot speaking JSON lines, or the built-in demo model),
// heartbeats the leases it holds, reports results in batches, and on SIGTERM/SIGINT
// finishes the jobs it holds before exiting. A job cancelled while it runs (its heartbeat
// answers 409 cancelled) is dropped: its model process is killed and restarted, so the slot
// moves on at once. One thread per slot plus a heartbeat thread.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/json.hpp>
#include <csignal>
#include <iostream>
#include <map>
#include <set>
#include <mutex>
#include <thread>
#include <variant>

#include "cli/commands.hpp"
#include "cli/demo_sentiment.hpp"
#include "cli/worker_child.hpp"
#include "cli/worker_http.hpp"
#include "common/error.hpp"

namespace mljobs::cli {
namespace {

namespace json = boost::json;

// A claim waits this long for work; it also bounds how long a stop takes while idle.
constexpr int kWaitSeconds = 5;
constexpr int kMaxRetryMillis = 5000;

struct WorkerFlags {
  std::string server = "http://127.0.0.1:8080";
  std::string token;
  std::string exec;
  std::string model;
  int concurrency = 1;
  int batch = 10;
  int lease_seconds = 60;
  std::vector<std::string> models;
};

struct Shared {
  explicit Shared(const WorkerFlags& f) : flags(f) {}
  const WorkerFlags& flags;
  std::atomic<bool> stop{false};
  std::atomic<long> completed{0}, failed{0}, refused{0}, cancelled{0};
  std::mutex mu;
  std::map<std::string, std::string> leases;  // job id -> lease token; guarded by mu
  // Job id -> pid of the model process running it (0: the built-in model); guarded by mu.
  // A slot removes its entry before it may reap that process, so the pid stays valid.
  std::map<std::string, pid_t> running;
  std::set<std::string> cancelled_ids;  // held jobs found cancelled; guarded by mu
  std::exception_ptr error;                    // guarded by mu; the first fatal error
};

// Sleeps up to `ms`, waking early when stopping.
void Nap(const Shared& shared, int ms) {
  for (int slept = 0; slept < ms && !shared.stop; slept += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The error code of an error answer ("cancelled", "lease_lost"), or "".
std::string AnswerCode(const HttpAnswer& answer) {
  const json::object* body = answer.body.if_object();
  const json::value* error = body ? body->if_contains("error") : nullptr;
  const json::value* code = error && error->is_object() ? error->as_object().if_contains("code")
                                                        : nullptr;
  return code && code->is_string() ? std::string(code->as_string()) : std::string();
}

std::string ErrorText(const HttpAnswer& answer) {
  if (answer.status == 0) return "server unreachable";
  if (answer.body.is_object()) {
    if (auto* e = answer.body.as_object().if_contains("error")) {
      if (auto* m = e->as_object().if_contains("message"); m && m->is_string()) {
        return "HTTP " + std::to_string(answer.status) + ": " + std::string(m->as_string());
      }
    }
  }
  return "HTTP " + std::to_string(answer.status);
}

// Runs one job through the model: the result object for /queue/complete, or an error text.
std::variant<json::object, std::string> RunModel(const WorkerFlags& flags,
                                                 std::unique_ptr<WorkerChild>& child,
                                                 const json::object& job) {
  const std::string text(job.at("input_text").as_string());
  if (!flags.model.empty()) {
    Prediction p = DemoSentiment(text);
    return json::object{{"result_label", p.label}, {"result_score", p.score}};
  }
  json::object line{{"id", job.at("id")}, {"model", job.at("model")}, {"input_text", text}};
  std::optional<std::string> reply = child->Ask(json::serialize(line));
  if (!reply) {
    // Start a fresh process for the next job; this one is reported as failed (and retried).
    child.reset();
    child = std::make_unique<WorkerChild>(flags.exec);
    return std::string("the model process exited without answering");
  }
  boost::system::error_code ec;
  json::value answer = json::parse(*reply, ec);
  const json::object* o = ec ? nullptr : answer.if_object();
  const json::value* label = o ? o->if_contains("label") : nullptr;
  const json::value* score = o ? o->if_contains("score") : nullptr;
  if (!label || !label->is_string() || !score || !score->is_number()) {
    return "the model answered '" + reply->substr(0, 200) +
           "', not {\"label\": string, \"score\": number}";
  }
  return json::object{{"result_label", *label}, {"result_score", score->to_number<double>()}};
}

void RunSlot(Shared& shared, int slot) {
  const WorkerFlags& flags = shared.flags;
  WorkerHttp http(flags.server, flags.token, std::chrono::seconds(kWaitSeconds + 30));
  std::unique_ptr<WorkerChild> child;
  if (!flags.exec.empty()) child = std::make_unique<WorkerChild>(flags.exec);
  char host[256] = "worker";
  gethostname(host, sizeof host - 1);
  json::object claim{{"worker", std::string(host) + "-" + std::to_string(getpid()) + "-" +
                                    std::to_string(slot)},
                     {"limit", flags.batch},
                     {"lease_seconds", flags.lease_seconds},
                     {"wait_seconds", kWaitSeconds}};
  if (!flags.models.empty()) {
    json::array models;
    for (const auto& m : flags.models) models.emplace_back(m);
    claim["models"] = std::move(models);
  }
  int retry_ms = 100;
  while (!shared.stop) {
    HttpAnswer claimed = http.Post("/queue/claim", claim);
    if (claimed.status != 200) {
      std::cerr << "mljobs worker: claim failed (" << ErrorText(claimed) << "); retrying"
                << std::endl;
      if (claimed.status >= 400 && claimed.status < 500 && claimed.status != 429) {
        throw Error(ErrorCode::kInvalidArgument, "the server refused the claim: " + ErrorText(claimed));
      }
      Nap(shared, retry_ms);
      retry_ms = std::min(retry_ms * 2, kMaxRetryMillis);
      continue;
    }
    retry_ms = 100;
    const json::array& jobs = claimed.body.at("jobs").as_array();
    {
      std::lock_guard lock(shared.mu);
      for (const auto& job : jobs) {
        shared.leases[std::string(job.at("id").as_string())] =
            std::string(job.at("lease_token").as_string());
      }
    }
    // Every claimed job is finished, even after a stop: a batch is bounded, and finishing
    // beats leaving leases to expire.
    json::array results;
    for (const auto& value : jobs) {
      const json::object& job = value.as_object();
      const std::string id(job.at("id").as_string());
      bool run = false;
      {
        std::lock_guard lock(shared.mu);
        run = !shared.cancelled_ids.contains(id);
        if (run) shared.running[id] = child ? child->pid() : 0;
      }
      std::variant<json::object, std::string> outcome;
      if (run) outcome = RunModel(flags, child, job);
      {
        std::lock_guard lock(shared.mu);
        shared.running.erase(id);
        if (shared.cancelled_ids.erase(id) != 0) {
          // Nothing to report: the server already ended the job.
          ++shared.cancelled;
          continue;
        }
      }
      if (auto* result = std::get_if<json::object>(&outcome)) {
        (*result)["id"] = job.at("id");
        (*result)["lease_token"] = job.at("lease_token");
        results.push_back(std::move(*result));
        continue;
      }
      HttpAnswer failed =
          http.Post("/jobs/" + std::string(job.at("id").as_string()) + "/fail",
                    json::object{{"lease_token", job.at("lease_token")},
                                 {"error", std::get<std::string>(outcome)},
                                 {"retry", true}});
      ++shared.failed;
      if (failed.status != 200) ++shared.refused;
    }
    if (!results.empty()) {
      HttpAnswer done = http.Post("/queue/complete", json::object{{"results", results}});
      if (done.status == 200) {
        shared.completed += done.body.at("completed").as_int64();
        shared.refused += done.body.at("failed").as_int64();
      } else {
        // The leases expire and the server re-queues these jobs: nothing is lost.
        std::cerr << "mljobs worker: reporting " << results.size() << " results failed ("
                  << ErrorText(done) << ")" << std::endl;
      }
    }
    std::lock_guard lock(shared.mu);
    for (const auto& job : jobs) {
      const std::string id(job.at("id").as_string());
      shared.leases.erase(id);
      shared.cancelled_ids.erase(id);  // cancelled after the slot had finished it
    }
  }
}

// A held job was cancelled: stop its model (the whole process group of `sh -c CMD`; the
// slot then starts a fresh one) and make its slot skip it.
void DropCancelled(Shared& shared, const std::string& id) {
  std::lock_guard lock(shared.mu);
  if (shared.leases.erase(id) == 0) return;  // its batch is over already
  shared.cancelled_ids.insert(id);
  auto it = shared.running.find(id);
  if (it != shared.running.end() && it->second > 0) kill(-it->second, SIGKILL);
}

// Extends every held lease a few times per lease period, so a slow model never loses one.
void RunHeartbeats(Shared& shared, std::atomic<bool>& done) {
  WorkerHttp http(shared.flags.server, shared.flags.token, std::chrono::seconds(30));
  const int period_ms = std::max(1000, shared.flags.lease_seconds * 1000 / 3);
  while (!done) {
    for (int slept = 0; slept < period_ms && !done; slept += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::map<std::string, std::string> held;
    {
      std::lock_guard lock(shared.mu);
      held = shared.leases;
    }
    for (const auto& [id, token] : held) {
      HttpAnswer answer = http.Post(
          "/jobs/" + id + "/heartbeat",
          json::object{{"lease_token", token}, {"lease_seconds", shared.flags.lease_seconds}});
      if (answer.status == 409 && AnswerCode(answer) == "cancelled") DropCancelled(shared, id);
    }
  }
}

void RunWorker(const WorkerFlags& flags) {
  if (flags.exec.empty() == flags.model.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "give exactly one of --exec CMD and --model demo-sentiment");
  }
  if (!flags.model.empty() && flags.model != "demo-sentiment") {
    throw Error(ErrorCode::kInvalidArgument, "--model: the built-in model is 'demo-sentiment'");
  }
  WorkerHttp probe(flags.server, flags.token, std::chrono::seconds(5));  // checks --server
  // A model process that died must not kill the worker through SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  // SIGINT/SIGTERM are taken by sigwait below, never by the slot threads.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  Shared shared(flags);
  std::vector<std::thread> slots;
  for (int i = 0; i < flags.concurrency; ++i) {
    slots.emplace_back([&shared, i] {
      try {
        RunSlot(shared, i);
      } catch (...) {
        std::lock_guard lock(shared.mu);
        if (!shared.error) shared.error = std::current_exception();
        shared.stop = true;
      }
    });
  }
  std::atomic<bool> heartbeats_done{false};
  std::thread heartbeats([&] { RunHeartbeats(shared, heartbeats_done); });
  std::cerr << "mljobs worker: " << flags.concurrency << " slot(s) claiming from " << flags.server
            << " (" << (flags.exec.empty() ? "model " + flags.model : "exec: " + flags.exec)
            << "); SIGTERM or Ctrl-C finishes held jobs and exits" << std::endl;
  const bool tty = isatty(STDERR_FILENO) != 0;
  while (!shared.stop) {
    timespec tick{1, 0};
    int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      if (tty) std::cerr << "\n";
      std::cerr << "mljobs worker: stopping: finishing the jobs held" << std::endl;
      shared.stop = true;
    } else if (tty) {
      std::cerr << "\rmljobs worker: " << shared.completed << " completed, " << shared.failed
                << " failed, " << shared.refused << " refused by the server" << std::flush;
    }
  }
  for (auto& t : slots) t.join();
  heartbeats_done = true;
  heartbeats.join();
  std::cerr << "mljobs worker: stopped after " << shared.completed << " completed, "
            << shared.failed << " failed, " << shared.refused << " refused, " << shared.cancelled
            << " cancelled while running" << std::endl;
  if (shared.error) std::rethrow_exception(shared.error);
}

}  // namespace

void AddWorkerCommand(CLI::App& root) {
  auto flags = std::make_shared<WorkerFlags>();
  CLI::App* cmd = root.add_subcommand(
      "worker", "Claim jobs from a server and run them through a model process (or the demo model)");
  cmd->add_option("--server", flags->server, "Server URL, http://HOST:PORT")->capture_default_str();
  cmd->add_option("--token", flags->token, "API token (worker or admin role), sent as a bearer token");
  cmd->add_option("--exec", flags->exec,
                  "Model command, run by /bin/sh once per slot: reads one JSON line per job "
                  "{\"id\",\"model\",\"input_text\"} and writes one line {\"label\",\"score\"}");
  cmd->add_option("--model", flags->model, "Built-in model instead of --exec: demo-sentiment");
  cmd->add_option("--concurrency", flags->concurrency, "Slots (model processes) running jobs at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--batch", flags->batch, "Jobs claimed per request")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--lease-seconds", flags->lease_seconds, "Lease per claim, heartbeated")
      ->check(CLI::Range(3, 3600))
      ->capture_default_str();
  cmd->add_option("--models", flags->models, "Only claim jobs of these models");
  cmd->callback([flags] { RunWorker(*flags); });
}

}  // namespace mljobs::cli

#include "cli/seed_generator.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

namespace mljobs::cli {
namespace {

constexpr jobs::Micros kHour = 3'600'000'000;
constexpr int kHours = 365 * 24;

// Relative load by hour of day (UTC): quiet nights, a working-day peak.
constexpr std::array<double, 24> kHourOfDay = {0.30, 0.25, 0.20, 0.20, 0.25, 0.35, 0.55, 0.80,
                                               1.00, 1.15, 1.25, 1.30, 1.25, 1.30, 1.35, 1.30,
                                               1.20, 1.05, 0.90, 0.80, 0.70, 0.60, 0.50, 0.40};

// Pending and running jobs are among the newest kRecentShare of rows: 0.10 / 0.15 of those
// are pending and 0.02 / 0.15 running; every other row has finished.
constexpr double kRecentShare = 0.15;
constexpr double kPendingInRecent = 0.10 / kRecentShare;
constexpr double kRunningInRecent = 0.02 / kRecentShare;
// Finished jobs split 80 : 5 : 3 (completed, failed, cancelled).
constexpr double kCompletedOfFinished = 80.0 / 88.0;
constexpr double kFailedOfFinished = 5.0 / 88.0;

struct Model {
  std::string_view name;
  double weight;  // Zipf-like popularity
  double mean_run_ms;
  std::array<std::string_view, 6> labels;  // the first `label_count` are used
  int label_count;
};

constexpr std::array<Model, 12> kModels = {{
    {"sentiment-en-v3", 1.000, 45, {"positive", "negative", "neutral"}, 3},
    {"toxicity-v2", 0.435, 60, {"clean", "toxic"}, 2},
    {"topic-news-v1", 0.268, 120, {"world", "business", "sports", "tech", "science"}, 5},
    {"spam-filter-v4", 0.189, 25, {"ham", "spam"}, 2},
    {"intent-support-v2", 0.145, 90, {"billing", "bug", "account", "feature", "other"}, 5},
    {"lang-detect-v1", 0.116, 10, {"en", "de", "fr", "es", "it", "pt"}, 6},
    {"emotion-v1", 0.096, 150, {"joy", "anger", "sadness", "fear", "surprise", "neutral"}, 6},
    {"pii-detect-v1", 0.082, 200, {"none", "pii"}, 2},
    {"summary-quality-v1", 0.071, 900, {"good", "poor"}, 2},
    {"sentiment-multi-v2", 0.062, 300, {"positive", "negative", "neutral"}, 3},
    {"nsfw-text-v1", 0.055, 70, {"safe", "nsfw"}, 2},
    {"urgency-v1", 0.050, 2500, {"low", "medium", "high"}, 3},
}};

struct Owner {
  std::string_view name;
  double weight;
};
constexpr std::array<Owner, 5> kOwners = {{{"team-search", 40},
                                          {"team-support", 25},
                                          {"team-ads", 15},
                                          {"team-research", 12},
                                          {"team-trust", 8}}};

constexpr std::array<std::string_view, 4> kErrors = {
    "model timeout after 30s", "input exceeds the model's context window",
    "worker lost: lease expired", "CUDA out of memory"};

constexpr std::array<std::string_view, 3> kSources = {"api", "web", "batch"};
constexpr std::array<std::string_view, 4> kLangs = {"en", "de", "fr", "es"};

constexpr std::array<std::string_view, 64> kWords = {
    "the",      "order",   "arrived", "late",     "and",     "support", "was",      "helpful",
    "great",    "product", "would",   "buy",      "again",   "not",     "worth",    "price",
    "battery",  "screen",  "broke",   "after",    "two",     "weeks",   "love",     "this",
    "app",      "crashes", "when",    "I",        "open",    "settings", "please",  "refund",
    "my",       "account", "locked",  "password", "reset",   "email",   "never",    "came",
    "shipping", "fast",    "quality", "poor",     "easy",    "to",      "use",      "team",
    "answered", "quickly", "billing", "error",    "charged", "twice",   "update",   "fixed",
    "issue",    "still",   "slow",    "on",       "mobile",  "but",     "desktop",  "fine"};

constexpr char kHex[] = "0123456789abcdef";

template <std::size_t N, typename T>
std::size_t PickWeighted(const std::array<T, N>& items, double u) {
  double total = 0;
  for (const T& item : items) total += item.weight;
  double target = u * total;
  for (std::size_t i = 0; i < N; ++i) {
    target -= items[i].weight;
    if (target < 0) return i;
  }
  return N - 1;
}

}  // namespace

SeedGenerator::SeedGenerator(const SeedOptions& options)
    : options_(options), rng_(options.seed), start_(options.now - kHours * kHour) {
  // Hour k covers [start_ + k h, start_ + (k+1) h); its weight is the hour of day's load,
  // lower on weekends, growing over the year (a service gets busier).
  hour_cumulative_.resize(kHours + 1);
  double total = 0;
  for (int k = 0; k < kHours; ++k) {
    jobs::Micros at = start_ + k * kHour;
    std::int64_t hours_since_epoch = at / kHour;
    int hour_of_day = static_cast<int>(hours_since_epoch % 24);
    int day_of_week = static_cast<int>((hours_since_epoch / 24 + 4) % 7);  // 1970-01-01: Thu
    double weekend = (day_of_week == 0 || day_of_week == 6) ? 0.6 : 1.0;
    double growth = 0.6 + 0.8 * k / kHours;
    hour_cumulative_[k] = total;
    total += kHourOfDay[hour_of_day] * weekend * growth;
  }
  hour_cumulative_[kHours] = total;
}

// Inverse of the cumulative load: quantile 0 is start_, 1 is now. Monotone, so rising
// quantiles give rising created_at.
jobs::Micros SeedGenerator::CreatedAt(double quantile) {
  double target = quantile * hour_cumulative_[kHours];
  while (hour_ + 1 < static_cast<std::size_t>(kHours) && hour_cumulative_[hour_ + 1] <= target) {
    ++hour_;
  }
  double weight = hour_cumulative_[hour_ + 1] - hour_cumulative_[hour_];
  double within = std::clamp((target - hour_cumulative_[hour_]) / weight, 0.0, 1.0);
  jobs::Micros at = start_ + static_cast<jobs::Micros>(hour_) * kHour +
                    static_cast<jobs::Micros>(within * static_cast<double>(kHour));
  return std::min(at, options_.now - 1);
}

// UUIDv7: 48-bit Unix milliseconds, version 7, 12 + 62 random bits, variant 10.
void SeedGenerator::FillUuid(std::string& out, jobs::Micros at) {
  std::uint64_t ms = static_cast<std::uint64_t>(at / 1000);
  std::uint64_t random = rng_();
  std::uint64_t hi = (ms << 16) | 0x7000 | (random & 0x0fff);
  std::uint64_t lo = (rng_() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  out.resize(36);
  int pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out[pos++] = '-';
    std::uint64_t word = i < 16 ? hi : lo;
    int shift = (15 - (i % 16)) * 4;
    out[pos++] = kHex[(word >> shift) & 0xf];
  }
}

// 50..300 characters of words, cut to the drawn length.
void SeedGenerator::FillText(std::string& out) {
  std::size_t length = 50 + Below(251);
  out.clear();
  while (out.size() < length) {
    if (!out.empty()) out.push_back(' ');
    out.append(kWords[Below(kWords.size())]);
  }
  out.resize(length);
  if (out.back() == ' ') out.back() = '.';
}

void SeedGenerator::Fill(jobs::Job& job) {
  const double quantile =
      (static_cast<double>(next_) + Uniform()) / static_cast<double>(options_.rows);
  const jobs::Micros now = options_.now;
  const jobs::Micros created = CreatedAt(quantile);
  ++next_;

  job.id = 0;
  FillUuid(job.uuid, created);
  job.owner.assign(kOwners[PickWeighted(kOwners, Uniform())].name);
  const Model& model = kModels[PickWeighted(kModels, Uniform())];
  job.model.assign(model.name);
  if (!job.input_text) job.input_text.emplace();
  FillText(*job.input_text);
  double p = Uniform();
  job.priority = p < 0.80 ? 0 : p < 0.95 ? 1 + static_cast<int>(Below(5)) : 6 + static_cast<int>(Below(5));
  if (Uniform() < 0.6) {
    std::string metadata = R"({"source":")";
    metadata.append(kSources[Below(kSources.size())]);
    metadata.append(R"(","lang":")");
    metadata.append(kLangs[Below(kLangs.size())]);
    metadata.append(R"("})");
    job.metadata = std::move(metadata);
  } else {
    job.metadata.reset();
  }
  job.max_attempts = 3;
  job.created_at = created;
  job.run_after = created;

  // Status by age: pending and running only among the newest rows.
  double s = Uniform();
  bool recent = quantile >= 1.0 - kRecentShare;
  jobs::JobStatus status;
  if (recent && s < kPendingInRecent) {
    status = jobs::JobStatus::kPending;
  } else if (recent && s < kPendingInRecent + kRunningInRecent) {
    status = jobs::JobStatus::kRunning;
  } else {
    double f = Uniform();
    status = f < kCompletedOfFinished ? jobs::JobStatus::kCompleted
             : f < kCompletedOfFinished + kFailedOfFinished ? jobs::JobStatus::kFailed
                                                             : jobs::JobStatus::kCancelled;
  }
  job.status = status;

  // Queue wait (exponential, mean 2 s) and run time (exponential around the model's mean).
  const jobs::Micros wait = static_cast<jobs::Micros>(-std::log1p(-Uniform()) * 2e6);
  const jobs::Micros run = 5000 + static_cast<jobs::Micros>(-std::log1p(-Uniform()) *
                                                           model.mean_run_ms * 1000.0);
  const jobs::Micros started = std::min(created + wait, now);
  const jobs::Micros finished = std::min(started + run, now);

  job.result_label.reset();
  job.result_score.reset();
  job.error.reset();
  job.lease_token.reset();
  job.lease_expires_at.reset();
  job.worker.reset();
  job.started_at.reset();
  job.completed_at.reset();
  job.attempts = 0;
  job.updated_at = created;
  switch (status) {
    case jobs::JobStatus::kPending:
      break;
    case jobs::JobStatus::kRunning: {
      job.attempts = 1;
      job.started_at = started;
      job.worker = "worker-" + std::to_string(Below(32));
      std::string token;
      FillUuid(token, now);
      job.lease_token = std::move(token);
      // A live lease, renewed by heartbeats within the last 30 s.
      job.updated_at = std::max(started, now - static_cast<jobs::Micros>(Uniform() * 30e6));
      job.lease_expires_at = job.updated_at + 300'000'000;
      break;
    }
    case jobs::JobStatus::kCompleted:
      job.attempts = Uniform() < 0.05 ? 2 : 1;
      job.started_at = started;
      job.completed_at = finished;
      job.updated_at = finished;
      job.worker = "worker-" + std::to_string(Below(32));
      job.result_label.emplace(model.labels[Below(model.label_count)]);
      job.result_score = 0.5 + 0.5 * Uniform();
      break;
    case jobs::JobStatus::kFailed:
      job.attempts = job.max_attempts;
      job.started_at = started;
      job.completed_at = finished;
      job.updated_at = finished;
      job.worker = "worker-" + std::to_string(Below(32));
      job.error.emplace(kErrors[Below(kErrors.size())]);
      break;
    case jobs::JobStatus::kCancelled:
      // Cancelled while it waited.
      job.completed_at = std::min(created + wait * 5, now);
      job.updated_at = *job.completed_at;
      break;
  }
}

std::size_t SeedGenerator::Next(std::vector<jobs::Job>& out) {
  std::size_t n = static_cast<std::size_t>(
      std::min<std::int64_t>(static_cast<std::int64_t>(out.size()), options_.rows - next_));
  for (std::size_t i = 0; i < n; ++i) Fill(out[i]);
  return n;
}

}  // namespace mljobs::cli

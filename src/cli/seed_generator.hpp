// Realistic, deterministic job rows for `mljobs seed`: a year of created_at with daily and
// weekly rhythms and growth, ~80/5/3/2/10 % completed/failed/cancelled/running/pending
// (pending and running among the newest rows), a dozen models of skewed popularity, a few
// owners. Rows come in created_at order. Pure computation; one thread per generator.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "jobs/job.hpp"

namespace mljobs::cli {

struct SeedOptions {
  std::int64_t rows = 0;
  std::uint64_t seed = 42;
  // The end of the year of created_at. Same rows, seed and now: the same jobs, byte for byte.
  jobs::Micros now = 0;
};

class SeedGenerator {
 public:
  explicit SeedGenerator(const SeedOptions& options);

  // Overwrites out[0..n) with the next n = min(out.size(), rows left) rows, reusing the
  // strings' buffers, and returns n (0 when every row was produced). Ids are left 0.
  std::size_t Next(std::vector<jobs::Job>& out);

  std::int64_t produced() const { return next_; }

 private:
  void Fill(jobs::Job& job);
  // A uniform double in [0, 1) from the top 53 bits: the same on every standard library,
  // unlike std::uniform_real_distribution.
  double Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  std::uint64_t Below(std::uint64_t n) { return rng_() % n; }
  jobs::Micros CreatedAt(double quantile);
  void FillUuid(std::string& out, jobs::Micros at);
  void FillText(std::string& out);

  SeedOptions options_;
  std::mt19937_64 rng_;
  std::int64_t next_ = 0;
  jobs::Micros start_ = 0;             // options_.now - 365 days
  std::vector<double> hour_cumulative_;  // cumulative weight at the start of each hour
  std::size_t hour_ = 0;                 // where the last CreatedAt landed (quantiles rise)
};

}  // namespace mljobs::cli

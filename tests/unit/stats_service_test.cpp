// Pure logic of the statistics service: histogram quantiles and zero-filled hour series.
#include <gtest/gtest.h>

#include "jobs/stats_service.hpp"

namespace mljobs::jobs {
namespace {

TEST(QuantileUpperMicros, IsTheBoundOfTheBucketHoldingTheRank) {
  std::vector<RunTimeBucket> buckets{{1000, 50, 0}, {2000, 45, 0}, {5000, 5, 0}};
  EXPECT_EQ(QuantileUpperMicros(buckets, 0.5), 1000);   // rank 50: the last of the first
  EXPECT_EQ(QuantileUpperMicros(buckets, 0.51), 2000);  // rank 51
  EXPECT_EQ(QuantileUpperMicros(buckets, 0.95), 2000);  // rank 95
  EXPECT_EQ(QuantileUpperMicros(buckets, 0.96), 5000);
  EXPECT_EQ(QuantileUpperMicros(buckets, 1.0), 5000);
}

TEST(QuantileUpperMicros, NoneWithoutRuns) {
  EXPECT_EQ(QuantileUpperMicros({}, 0.5), std::nullopt);
  std::vector<RunTimeBucket> empty{{1000, 0, 0}};
  EXPECT_EQ(QuantileUpperMicros(empty, 0.5), std::nullopt);
}

TEST(FillHours, EndsWithTheCurrentHourAndFillsGapsWithZeros) {
  const Micros h = kMicrosPerHour;
  const Micros now = 1000 * h + 17;  // inside hour 1000
  std::vector<HourCounts> counted{{997 * h, 1, 2, 3}, {1000 * h, 4, 0, 0}};
  std::vector<HourCounts> out = FillHours(counted, now, 4);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].hour, 997 * h);
  EXPECT_EQ(out[0].created, 1);
  EXPECT_EQ(out[0].completed, 2);
  EXPECT_EQ(out[0].failed, 3);
  EXPECT_EQ(out[1].hour, 998 * h);
  EXPECT_EQ(out[1].created, 0);
  EXPECT_EQ(out[2].hour, 999 * h);
  EXPECT_EQ(out[3].hour, 1000 * h);
  EXPECT_EQ(out[3].created, 4);
}

TEST(FillHours, SkipsCountsOutsideTheWindow) {
  const Micros h = kMicrosPerHour;
  std::vector<HourCounts> counted{{5 * h, 9, 0, 0}, {10 * h, 1, 0, 0}};
  std::vector<HourCounts> out = FillHours(counted, 10 * h, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].hour, 10 * h);
  EXPECT_EQ(out[0].created, 1);
}

}  // namespace
}  // namespace mljobs::jobs

// RFC 3339 formatting and parsing of jobs::Micros.
#include <gtest/gtest.h>

#include "jobs/time_format.hpp"

namespace mljobs::jobs {
namespace {

TEST(TimeFormatTest, FormatsUtcWithMicroseconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(951'782'400'000'000), "2000-02-29T00:00:00.000000Z");
}

TEST(TimeFormatTest, ParsesWhatItFormats) {
  for (Micros t : {Micros{0}, Micros{1'700'000'000'123'456}, Micros{-1}, Micros{4'102'444'800'000'000}}) {
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(t)), t);
  }
}

TEST(TimeFormatTest, ParsesOffsetsAndFractions) {
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20Z"), 1'700'000'000'000'000);
  EXPECT_EQ(ParseRfc3339("2023-11-14T23:13:20+01:00"), 1'700'000'000'000'000);
  EXPECT_EQ(ParseRfc3339("2023-11-14T21:13:20.5-01:00"), 1'700'000'000'500'000);
  EXPECT_EQ(ParseRfc3339("2023-11-14t22:13:20.123456789z"), 1'700'000'000'123'456);
}

TEST(TimeFormatTest, RejectsMalformedAndImpossibleTimes) {
  for (const char* bad : {"", "yesterday", "2023-11-14", "2023-11-14T22:13:20",
                          "2023-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2023-11-14T24:00:00Z",
                          "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+1:00",
                          "2023-11-14T22:13:20Zjunk", "2023-11-14T22:13:20.1234567890Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace mljobs::jobs

// RFC 3339 formatting and parsing of jobs::Micros.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "jobs/time_format.hpp"

namespace mljobs::jobs {
namespace {

TEST(TimeFormatTest, FormatsUtcWithMicroseconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(951'782'400'000'000), "2000-02-29T00:00:00.000000Z");
}

TEST(TimeFormatTest, FormatsTheEdgesOfTheCalendar) {
  EXPECT_EQ(FormatRfc3339(253'402'300'799'999'999), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(253'402'300'800'000'000), "10000-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(-62'135'596'800'000'000), "0001-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(-62'167'219'200'000'000), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(-62'167'219'200'000'001), "-001-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(-2'208'988'800'000'001), "1899-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(1'000'001), "1970-01-01T00:00:01.000001Z");
}

TEST(TimeFormatTest, AppendsAfterWhatIsAlreadyThere) {
  std::string out = "at ";
  AppendRfc3339(out, 0);
  EXPECT_EQ(out, "at 1970-01-01T00:00:00.000000Z");
}

// The hand-written formatter against the printf format it replaced, across the whole range
// a PostgreSQL timestamptz can hold (4713 BC .. 294276 AD; Micros ends a little earlier).
TEST(TimeFormatTest, MatchesThePrintfFormatEverywhere) {
  auto reference = [](Micros t) {
    constexpr std::int64_t kDay = 86'400'000'000;
    std::int64_t days = t / kDay, rem = t % kDay;
    if (rem < 0) rem += kDay, --days;
    // civil_from_days, as in time_format.cpp
    std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    const std::int64_t secs = rem / 1'000'000;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                  static_cast<long long>(rem % 1'000'000));
    return std::string(buf);
  };
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<Micros> any(-210'866'760'000'000'000, 9'200'000'000'000'000'000);
  for (int i = 0; i < 100'000; ++i) {
    const Micros t = any(rng);
    ASSERT_EQ(FormatRfc3339(t), reference(t)) << t;
  }
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

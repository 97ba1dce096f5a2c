// UUIDv7 generation and UUID normalisation.
#include <gtest/gtest.h>

#include <set>

#include "jobs/uuid_v7.hpp"

namespace mljobs::jobs {
namespace {

TEST(UuidV7Test, HasVersionVariantAndTimestamp) {
  std::string id = NewUuidV7(1'700'000'000'123'456);
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  // 1700000000123 ms = 0x18bcfe5687b
  EXPECT_EQ(id.substr(0, 13), "018bcfe5-687b");
  EXPECT_EQ(NormalizeUuid(id), id);
}

TEST(UuidV7Test, SortsByTimeAndDoesNotRepeat) {
  std::set<std::string> seen;
  std::string prev;
  for (Micros t = 1'700'000'000'000'000; t < 1'700'000'000'000'000 + 5000; t += 5) {
    std::string id = NewUuidV7(t);
    EXPECT_TRUE(seen.insert(id).second);
    if (!prev.empty()) {
      EXPECT_LE(prev.substr(0, 18), id.substr(0, 18));
    }
    prev = id;
  }
}

TEST(UuidV7Test, NormalizesCaseAndRejectsNonUuids) {
  EXPECT_EQ(NormalizeUuid("018BCFE5-6A7B-7000-8000-00000000ABCD"),
            "018bcfe5-6a7b-7000-8000-00000000abcd");
  for (const char* bad : {"", "123", "018bcfe5x6a7b-7000-8000-00000000abcd",
                          "018bcfe5-6a7b-7000-8000-00000000abcg",
                          "018bcfe5-6a7b-7000-8000-00000000abcde"}) {
    EXPECT_FALSE(NormalizeUuid(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace mljobs::jobs

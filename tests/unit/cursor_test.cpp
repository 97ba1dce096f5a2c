// Cursor codec: round trip, and rejection of garbage, truncation, tampering, a foreign
// secret, another filter (include_archived too) and another order.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "jobs/cursor.hpp"

namespace mljobs::jobs {
namespace {

JobFilter PendingFilter() {
  JobFilter f;
  f.statuses = {JobStatus::kPending};
  return f;
}

void ExpectInvalidCursor(const CursorCodec& codec, const std::string& text, const JobFilter& f,
                         SortOrder order) {
  try {
    codec.Decode(text, f, order);
    FAIL() << "accepted cursor '" << text << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(e.reason(), "invalid_cursor");
  }
}

TEST(CursorTest, RoundTripsPositionIncludingNegativeTimes) {
  CursorCodec codec("secret");
  for (Position p : {Position{1'700'000'000'123'456, 42}, Position{-5, 1},
                     Position{0, INT64_MAX}}) {
    std::string c = codec.Encode(p, PendingFilter(), SortOrder::kDesc);
    EXPECT_EQ(codec.Decode(c, PendingFilter(), SortOrder::kDesc), p);
  }
}

TEST(CursorTest, IsUrlSafe) {
  CursorCodec codec("secret");
  std::string c = codec.Encode({123, 456}, JobFilter{}, SortOrder::kAsc);
  EXPECT_EQ(c.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(CursorTest, RejectsGarbageTruncationAndTampering) {
  CursorCodec codec("secret");
  std::string c = codec.Encode({1000, 7}, PendingFilter(), SortOrder::kDesc);
  ExpectInvalidCursor(codec, "garbage", PendingFilter(), SortOrder::kDesc);
  ExpectInvalidCursor(codec, "", PendingFilter(), SortOrder::kDesc);
  ExpectInvalidCursor(codec, c.substr(0, c.size() - 1), PendingFilter(), SortOrder::kDesc);
  ExpectInvalidCursor(codec, c + "A", PendingFilter(), SortOrder::kDesc);
  ExpectInvalidCursor(codec, c.substr(0, 50) + "*", PendingFilter(), SortOrder::kDesc);
  for (std::size_t i = 0; i < c.size() - 1; ++i) {  // the last char holds 2 unused bits
    std::string t = c;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    ExpectInvalidCursor(codec, t, PendingFilter(), SortOrder::kDesc);
  }
}

TEST(CursorTest, RejectsAnotherSecretFilterOrOrder) {
  CursorCodec codec("secret");
  std::string c = codec.Encode({1000, 7}, PendingFilter(), SortOrder::kDesc);
  ExpectInvalidCursor(CursorCodec("other"), c, PendingFilter(), SortOrder::kDesc);
  ExpectInvalidCursor(codec, c, JobFilter{}, SortOrder::kDesc);
  ExpectInvalidCursor(codec, c, PendingFilter(), SortOrder::kAsc);
  JobFilter with_model = PendingFilter();
  with_model.model = "m";
  ExpectInvalidCursor(codec, c, with_model, SortOrder::kDesc);
  JobFilter with_time = PendingFilter();
  with_time.created_before = 5;
  ExpectInvalidCursor(codec, c, with_time, SortOrder::kDesc);
  JobFilter with_archive = PendingFilter();
  with_archive.include_archived = true;
  ExpectInvalidCursor(codec, c, with_archive, SortOrder::kDesc);
  std::string archived = codec.Encode({1000, 7}, with_archive, SortOrder::kDesc);
  EXPECT_EQ(codec.Decode(archived, with_archive, SortOrder::kDesc), (Position{1000, 7}));
  ExpectInvalidCursor(codec, archived, PendingFilter(), SortOrder::kDesc);
}

TEST(CursorTest, FilterFieldsDoNotAlias) {
  // model "a" + owner "bc" must not fingerprint like model "ab" + owner "c".
  CursorCodec codec("secret");
  JobFilter f1;
  f1.model = "a";
  f1.owner = "bc";
  JobFilter f2;
  f2.model = "ab";
  f2.owner = "c";
  std::string c = codec.Encode({1, 1}, f1, SortOrder::kDesc);
  ExpectInvalidCursor(codec, c, f2, SortOrder::kDesc);
}

}  // namespace
}  // namespace mljobs::jobs

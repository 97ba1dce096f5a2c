// Router: literal and capture matching, precedence, 404 vs 405 with Allow, trailing slash.
#include "http/router.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace mljobs::http {
namespace {

Handler Noop() {
  return [](Exchange&) -> boost::asio::awaitable<Response> { co_return Response{}; };
}

Router MakeRouter() {
  Router r;
  // Captures registered before the literals they compete with: order must not matter.
  r.Add("GET", "/jobs/{id}", Noop());
  r.Add("GET", "/jobs/export", Noop());
  r.Add("GET", "/jobs", Noop());
  r.Add("POST", "/jobs", Noop());
  r.Add("POST", "/jobs/batch", Noop());
  r.Add("POST", "/jobs/{id}/cancel", Noop());
  r.Add("GET", "/things/{a}/{b}", Noop());
  r.Add("GET", "/things/fixed/{b}", Noop());
  r.Add("GET", "/things/{a}/fixed", Noop());
  r.Add("GET", "/", Noop());
  return r;
}

TEST(RouterTest, MatchesLiteralPath) {
  Router r = MakeRouter();
  Match m = r.Find("GET", "/jobs");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/jobs");
  EXPECT_TRUE(m.params.empty());
}

TEST(RouterTest, CapturesSegments) {
  Router r = MakeRouter();
  Match m = r.Find("POST", "/jobs/0190a1b2-c3d4/cancel");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/jobs/{id}/cancel");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "0190a1b2-c3d4");
}

TEST(RouterTest, SeveralCapturesInOrder) {
  Router r = MakeRouter();
  Match m = r.Find("GET", "/things/x/y");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/things/{a}/{b}");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"a", "x"}));
  EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>{"b", "y"}));
}

TEST(RouterTest, LiteralBeatsCaptureWhateverTheOrderOfAdding) {
  Router r = MakeRouter();
  Match m = r.Find("GET", "/jobs/export");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/jobs/export");
  EXPECT_TRUE(m.params.empty());

  Match other = r.Find("GET", "/jobs/abc");
  ASSERT_NE(other.handler, nullptr);
  EXPECT_EQ(other.pattern, "/jobs/{id}");
  EXPECT_NE(other.handler, m.handler);
}

TEST(RouterTest, LeftmostLiteralDecides) {
  Router r = MakeRouter();
  EXPECT_EQ(r.Find("GET", "/things/fixed/fixed").pattern, "/things/fixed/{b}");
  EXPECT_EQ(r.Find("GET", "/things/x/fixed").pattern, "/things/{a}/fixed");
  EXPECT_EQ(r.Find("GET", "/things/fixed/x").pattern, "/things/fixed/{b}");
}

TEST(RouterTest, UnknownPathIsNotFound) {
  Router r = MakeRouter();
  Match m = r.Find("GET", "/nope");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_FALSE(m.path_known);
  EXPECT_TRUE(m.allow.empty());
  EXPECT_TRUE(m.pattern.empty());

  EXPECT_EQ(r.Find("GET", "/jobs/a/b/c").handler, nullptr);
  EXPECT_FALSE(r.Find("GET", "/jobs/a/b/c").path_known);
}

TEST(RouterTest, KnownPathOtherMethodIsMethodNotAllowed) {
  Router r = MakeRouter();
  Match m = r.Find("DELETE", "/jobs");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allow, "GET, POST");

  Match cancel = r.Find("GET", "/jobs/42/cancel");
  EXPECT_EQ(cancel.handler, nullptr);
  EXPECT_TRUE(cancel.path_known);
  EXPECT_EQ(cancel.allow, "POST");
}

TEST(RouterTest, MethodsAreCaseSensitive) {
  Router r = MakeRouter();
  Match m = r.Find("get", "/jobs");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_known);
}

TEST(RouterTest, CaptureOfTheRequestMethodServesWhenLiteralHasAnotherMethod) {
  // "/jobs/batch" exists for POST only; GET falls to "/jobs/{id}" (id "batch").
  Router r = MakeRouter();
  Match get = r.Find("GET", "/jobs/batch");
  ASSERT_NE(get.handler, nullptr);
  EXPECT_EQ(get.pattern, "/jobs/{id}");
  ASSERT_EQ(get.params.size(), 1u);
  EXPECT_EQ(get.params[0].second, "batch");

  Match put = r.Find("PUT", "/jobs/batch");
  EXPECT_EQ(put.handler, nullptr);
  EXPECT_TRUE(put.path_known);
  EXPECT_EQ(put.allow, "GET, POST");
}

TEST(RouterTest, TrailingSlashIsADifferentPath) {
  Router r = MakeRouter();
  EXPECT_EQ(r.Find("GET", "/jobs/").handler, nullptr);
  EXPECT_FALSE(r.Find("GET", "/jobs/").path_known);
  EXPECT_EQ(r.Find("POST", "/jobs/42/cancel/").handler, nullptr);
}

TEST(RouterTest, CaptureNeverMatchesAnEmptySegment) {
  Router r = MakeRouter();
  EXPECT_EQ(r.Find("POST", "/jobs//cancel").handler, nullptr);
  EXPECT_EQ(r.Find("GET", "//jobs").handler, nullptr);
}

TEST(RouterTest, RootPath) {
  Router r = MakeRouter();
  Match m = r.Find("GET", "/");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/");
  EXPECT_EQ(r.Find("GET", "").handler, nullptr);
  EXPECT_EQ(r.Find("GET", "jobs").handler, nullptr);
}

TEST(RouterTest, EmptyRouterFindsNothing) {
  Router r;
  Match m = r.Find("GET", "/");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_FALSE(m.path_known);
}

TEST(RouterTest, AddingTheSameRouteTwiceThrows) {
  Router r;
  r.Add("GET", "/jobs", Noop());
  EXPECT_THROW(r.Add("GET", "/jobs", Noop()), std::logic_error);
  EXPECT_NO_THROW(r.Add("POST", "/jobs", Noop()));
}

TEST(RouterTest, PatternMustBeAbsolute) {
  Router r;
  EXPECT_THROW(r.Add("GET", "jobs", Noop()), std::invalid_argument);
}

}  // namespace
}  // namespace mljobs::http

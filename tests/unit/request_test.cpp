// Request lookups (query, header, path parameter) and the JSON error body.
#include "http/request.hpp"

#include <gtest/gtest.h>

namespace mljobs::http {
namespace {

Request MakeRequest() {
  Request r;
  r.method = "GET";
  r.path = "/jobs/42";
  r.query = {{"limit", "10"}, {"status", "pending"}, {"status", "running"}, {"empty", ""}};
  r.headers = {{"content-type", "application/json"}, {"x-multi", "a"}, {"x-multi", "b"}};
  r.path_params = {{"id", "42"}};
  return r;
}

TEST(RequestTest, QueryReturnsFirstValue) {
  Request r = MakeRequest();
  EXPECT_EQ(r.Query("limit"), "10");
  EXPECT_EQ(r.Query("status"), "pending");
}

TEST(RequestTest, QueryDistinguishesEmptyFromMissing) {
  Request r = MakeRequest();
  ASSERT_TRUE(r.Query("empty").has_value());
  EXPECT_EQ(*r.Query("empty"), "");
  EXPECT_FALSE(r.Query("cursor").has_value());
  EXPECT_FALSE(r.Query("LIMIT").has_value());  // query keys are case-sensitive
}

TEST(RequestTest, HeaderIsCaseInsensitive) {
  Request r = MakeRequest();
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(r.Header("x-multi"), "a");
  EXPECT_FALSE(r.Header("authorization").has_value());
}

TEST(RequestTest, PathParam) {
  Request r = MakeRequest();
  EXPECT_EQ(r.PathParam("id"), "42");
  EXPECT_EQ(r.PathParam("other"), "");
}

TEST(RequestTest, ErrorResponseBody) {
  Response res = ErrorResponse(404, "not_found", "no such job");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.body, R"({"error":{"code":"not_found","message":"no such job"}})");
  EXPECT_TRUE(res.headers.empty());
}

TEST(RequestTest, ErrorResponseEscapesJson) {
  Response res = ErrorResponse(400, "invalid_argument", "bad \"limit\"\n\\ \x01");
  EXPECT_EQ(res.body,
            R"({"error":{"code":"invalid_argument","message":"bad \"limit\"\n\\ \u0001"}})");
}

}  // namespace
}  // namespace mljobs::http

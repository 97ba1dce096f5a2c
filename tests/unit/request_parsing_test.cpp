// Parsing of job bodies and list/export query parameters: what is accepted, and that
// every bad input is an invalid_argument naming the parameter.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "api/request_parsing.hpp"
#include "common/error.hpp"

namespace mljobs::api {
namespace {

http::Request WithQuery(std::vector<std::pair<std::string, std::string>> query) {
  http::Request r;
  r.method = "GET";
  r.path = "/jobs";
  r.query = std::move(query);
  return r;
}

// Runs `fn`, expecting Error(kInvalidArgument) whose message contains `needle`.
template <typename Fn>
void ExpectInvalid(Fn fn, const std::string& needle) {
  try {
    fn();
    FAIL() << "accepted input; expected an error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(RequestParsingTest, ParsesAFullJob) {
  auto body = ParseJsonObject(
      R"({"model":"sentiment-v2","input_text":"great","priority":5,"metadata":{"k":[1]},"max_attempts":4})");
  jobs::JobRequest r = ParseJobRequest(body, "");
  EXPECT_EQ(r.model, "sentiment-v2");
  EXPECT_EQ(r.input_text, "great");
  EXPECT_EQ(r.priority, 5);
  EXPECT_EQ(r.max_attempts, 4);
  EXPECT_EQ(r.metadata, R"({"k":[1]})");
}

TEST(RequestParsingTest, RejectsBadJobs) {
  auto parse = [](const char* text) {
    return [text] { ParseJobRequest(ParseJsonObject(text), ""); };
  };
  ExpectInvalid(parse("{"), "not valid JSON");
  ExpectInvalid(parse("[1]"), "must be a JSON object");
  ExpectInvalid(parse(R"({"input_text":"x"})"), "model: is required");
  ExpectInvalid(parse(R"({"model":"m"})"), "input_text: is required");
  ExpectInvalid(parse(R"({"model":5,"input_text":"x"})"), "model: must be a string");
  ExpectInvalid(parse(R"({"model":"m","input_text":""})"), "input_text");
  ExpectInvalid(parse(R"({"model":"m","input_text":"x","priority":"high"})"), "priority");
  ExpectInvalid(parse(R"({"model":"m","input_text":"x","priority":1.5})"), "priority");
  ExpectInvalid(parse(R"({"model":"m","input_text":"x","priority":5000})"), "priority");
  ExpectInvalid(parse(R"({"model":"m","input_text":"x","priority":99999999999})"), "priority");
  ExpectInvalid(parse(R"({"model":"m","input_text":"x","metadata":[1]})"), "metadata");
  ExpectInvalid(parse(R"({"model":"m","input_text":"x","max_attempts":0})"), "max_attempts");
  ExpectInvalid(parse(R"({"model":"m","input_text":"x","colour":"red"})"), "colour: unknown field");
  ExpectInvalid(parse(R"({"model":"bad model!","input_text":"x"})"), "model");
  std::string huge = R"({"model":"m","input_text":")" + std::string(64 * 1024 + 1, 'a') + "\"}";
  ExpectInvalid([&] { ParseJobRequest(ParseJsonObject(huge), ""); }, "input_text");
}

TEST(RequestParsingTest, BatchErrorsNameTheJob) {
  ExpectInvalid([] { ParseBatchRequest(ParseJsonObject(R"({"jobs":[]})")); }, "at least one");
  ExpectInvalid([] { ParseBatchRequest(ParseJsonObject(R"({"job":[]})")); }, "unknown field");
  ExpectInvalid(
      [] {
        ParseBatchRequest(ParseJsonObject(
            R"({"jobs":[{"model":"m","input_text":"a"},{"model":"m","input_text":""}]})"));
      },
      "jobs[1].input_text");
  std::string big = R"({"jobs":[)";
  for (int i = 0; i < 10'001; ++i) big += std::string(i ? "," : "") + R"({"model":"m","input_text":"a"})";
  big += "]}";
  ExpectInvalid([&] { ParseBatchRequest(ParseJsonObject(big)); }, "at most 10000");
}

TEST(RequestParsingTest, ParsesListParameters) {
  auto r = ParseListRequest(WithQuery({{"limit", "1000"},
                                       {"status", "failed,pending,failed"},
                                       {"model", "m1"},
                                       {"created_after", "2026-01-01T00:00:00Z"},
                                       {"order", "asc"},
                                       {"fields", "id,status,input_text"},
                                       {"count", "estimated"}}));
  EXPECT_EQ(r.limit, 1000);
  EXPECT_EQ(r.filter.statuses,
            (std::vector<jobs::JobStatus>{jobs::JobStatus::kPending, jobs::JobStatus::kFailed}));
  EXPECT_EQ(r.filter.model, "m1");
  EXPECT_TRUE(r.filter.created_after.has_value());
  EXPECT_FALSE(r.filter.created_before.has_value());
  EXPECT_EQ(r.order, jobs::SortOrder::kAsc);
  EXPECT_TRUE(r.fields.Has(jobs::Field::kInputText));
  EXPECT_FALSE(r.fields.Has(jobs::Field::kModel));
  EXPECT_EQ(r.count, jobs::CountMode::kEstimated);
  EXPECT_FALSE(r.filter.include_archived);
  EXPECT_TRUE(ParseListRequest(WithQuery({{"include_archived", "true"}})).filter.include_archived);
  EXPECT_FALSE(ParseListRequest(WithQuery({{"include_archived", "false"}})).filter.include_archived);
  EXPECT_TRUE(
      ParseExportRequest(WithQuery({{"include_archived", "true"}})).filter.include_archived);

  auto d = ParseListRequest(WithQuery({}));
  EXPECT_EQ(d.limit, 50);
  EXPECT_EQ(d.order, jobs::SortOrder::kDesc);
  EXPECT_EQ(d.fields, jobs::FieldSet::Light());
  EXPECT_EQ(d.count, jobs::CountMode::kNone);
}

TEST(RequestParsingTest, RejectsBadListParameters) {
  for (const char* limit : {"0", "-1", "1001", "abc", "5x", "", "99999999999999999999"}) {
    ExpectInvalid([&] { ParseListRequest(WithQuery({{"limit", limit}})); }, "limit");
  }
  ExpectInvalid([] { ParseListRequest(WithQuery({{"status", "done"}})); }, "unknown status 'done'");
  ExpectInvalid([] { ParseListRequest(WithQuery({{"status", "pending,"}})); }, "unknown status");
  ExpectInvalid([] { ParseListRequest(WithQuery({{"fields", "id,password"}})); }, "password");
  ExpectInvalid([] { ParseListRequest(WithQuery({{"created_after", "yesterday"}})); }, "created_after");
  ExpectInvalid([] { ParseListRequest(WithQuery({{"order", "up"}})); }, "order");
  ExpectInvalid([] { ParseListRequest(WithQuery({{"count", "all"}})); }, "count");
  ExpectInvalid([] { ParseListRequest(WithQuery({{"stauts", "failed"}})); }, "stauts: unknown parameter");
  ExpectInvalid([] { ParseListRequest(WithQuery({{"limit", "5"}, {"limit", "6"}})); }, "more than once");
  ExpectInvalid([] { ParseExportRequest(WithQuery({{"limit", "5"}})); }, "limit: unknown parameter");
  for (const char* value : {"yes", "1", "", "TRUE"}) {
    ExpectInvalid([&] { ParseListRequest(WithQuery({{"include_archived", value}})); },
                  "include_archived: must be true or false");
  }
}

}  // namespace
}  // namespace mljobs::api

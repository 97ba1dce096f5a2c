// The direct JSON writer (json_writer, job_json) checked against Boost.JSON: what it writes
// parses back to the same values, strings byte for byte as Boost.JSON serializes them, and
// a job has exactly the asked-for fields in the documented order.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <limits>

#include "api/job_json.hpp"
#include "api/json_writer.hpp"

namespace mljobs::api {
namespace {

namespace json = boost::json;

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

std::string Dbl(double v) {
  std::string out;
  AppendJsonDouble(out, v);
  return out;
}

std::vector<std::string> TrickyStrings() {
  std::string all_controls;
  for (int c = 0; c < 0x20; ++c) all_controls.push_back(static_cast<char>(c));
  std::string long_mixed;
  for (int i = 0; i < 20'000; ++i) long_mixed += i % 97 == 0 ? "\"\\\n\x01" : "abcé";
  return {"",
          "plain",
          "\"",
          "\\",
          "say \"hi\"\\ there",
          "tab\there\nnew\rline\bback\fform",
          all_controls,
          std::string("nul\0inside", 10),
          "\x7f del stays",
          "/ slash stays",
          "héllo wörld",
          "日本語テキスト",
          "emoji \xF0\x9F\x98\x80 pair",
          "\u2028 line separator",
          std::string(100'000, 'x'),
          long_mixed};
}

TEST(JsonWriterTest, StringsReadBackAndMatchBoostJsonByteForByte) {
  for (const std::string& s : TrickyStrings()) {
    const std::string written = Str(s);
    EXPECT_EQ(written, json::serialize(json::string(s))) << s.substr(0, 40);
    json::value back = json::parse(written);
    ASSERT_TRUE(back.is_string());
    EXPECT_EQ(std::string_view(back.get_string()), s);
  }
}

TEST(JsonWriterTest, EscapesControlCharactersAsTheRfcAllows) {
  EXPECT_EQ(Str(std::string("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(Str("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Str("\n\t"), R"("\n\t")");
  EXPECT_EQ(Str(""), R"("")");
}

// The writer skips 8 plain bytes at a time: every escaped byte at every offset of a word.
TEST(JsonWriterTest, FindsEscapesAtEveryPositionOfALongString) {
  for (char special : {'"', '\\', '\n', '\x01', '\x1f'}) {
    for (std::size_t at = 0; at < 20; ++at) {
      std::string s(19, 'a');
      s.insert(at, 1, special);
      s += "é";
      EXPECT_EQ(Str(s), json::serialize(json::string(s))) << int(special) << " at " << at;
    }
  }
}

TEST(JsonWriterTest, DoublesReadBackExactlyAndStayDoubles) {
  for (double d : {0.0, -0.0, 1.0, -1.0, 0.1, -2.5, 1e-9, 0.75, 123456.789, 1e15, 1e21, 1e300,
                   -1e-300, 4.9e-324, std::numeric_limits<double>::max(), 0.30000000000000004}) {
    const std::string written = Dbl(d);
    json::value back = json::parse(written);
    ASSERT_TRUE(back.is_double()) << written;
    EXPECT_EQ(back.get_double(), d) << written;
    EXPECT_EQ(std::signbit(back.get_double()), std::signbit(d)) << written;
  }
  EXPECT_EQ(Dbl(0.1), "0.1");
  EXPECT_EQ(Dbl(0), "0.0");
  EXPECT_EQ(Dbl(-3), "-3.0");
  EXPECT_EQ(Dbl(1e-9), "1e-09");
}

TEST(JsonWriterTest, NonFiniteDoublesAreNull) {
  EXPECT_EQ(Dbl(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(Dbl(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Dbl(-std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonWriterTest, Integers) {
  for (std::int64_t v :
       {std::int64_t{0}, std::int64_t{-7}, std::int64_t{42},
        std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    std::string out;
    AppendJsonInt(out, v);
    EXPECT_EQ(json::parse(out), json::value(v)) << out;
  }
}

jobs::Job FullJob() {
  jobs::Job job;
  job.id = 17;
  job.uuid = "01890000-0000-7000-8000-000000000001";
  job.owner = "al\"ice";
  job.model = "sentiment-v2";
  job.input_text = "line one\nline \"two\" é";
  job.status = jobs::JobStatus::kCompleted;
  job.priority = -5;
  job.result_label = "positive";
  job.result_score = 0.1;
  job.error = "retried\tonce";
  job.metadata = R"({"lang": "en", "n": [1, 2.5, null], "deep": {"k": "v\u0001"}})";
  job.attempts = 2;
  job.max_attempts = 3;
  job.run_after = 0;
  job.lease_token = "01890000-0000-4000-8000-00000000abcd";
  job.lease_expires_at = -1;  // 1969-12-31T23:59:59.999999Z
  job.worker = "w-1";
  job.created_at = 1'700'000'000'123'456;
  job.started_at = 1'700'000'000'123'457;
  job.completed_at = 253'402'300'799'999'999;  // 9999-12-31T23:59:59.999999Z
  job.updated_at = 1'700'000'001'000'000;
  return job;
}

// Field names in output order, as `fields` selects them.
std::vector<std::string> Keys(const json::object& o) {
  std::vector<std::string> keys;
  for (const auto& kv : o) keys.emplace_back(kv.key());
  return keys;
}

json::object Written(const jobs::Job& job, jobs::FieldSet fields) {
  std::string out;
  AppendJobJson(out, job, fields);
  return json::parse(out).as_object();
}

TEST(JobJsonTest, EveryFieldInOrderWithItsValue) {
  json::object o = Written(FullJob(), jobs::FieldSet::All());
  EXPECT_EQ(Keys(o), (std::vector<std::string>{
                         "id", "owner", "model", "status", "priority", "input_text", "metadata",
                         "result_label", "result_score", "error", "attempts", "max_attempts",
                         "run_after", "worker", "lease_expires_at", "created_at", "started_at",
                         "completed_at", "updated_at"}));
  EXPECT_EQ(o.at("id"), "01890000-0000-7000-8000-000000000001");
  EXPECT_EQ(o.at("owner"), "al\"ice");
  EXPECT_EQ(o.at("model"), "sentiment-v2");
  EXPECT_EQ(o.at("status"), "completed");
  EXPECT_EQ(o.at("priority"), -5);
  EXPECT_EQ(o.at("input_text"), "line one\nline \"two\" é");
  EXPECT_EQ(o.at("metadata"),
            json::parse(R"({"lang":"en","n":[1,2.5,null],"deep":{"k":"v\u0001"}})"));
  EXPECT_EQ(o.at("result_label"), "positive");
  EXPECT_EQ(o.at("result_score"), 0.1);
  EXPECT_EQ(o.at("error"), "retried\tonce");
  EXPECT_EQ(o.at("attempts"), 2);
  EXPECT_EQ(o.at("max_attempts"), 3);
  EXPECT_EQ(o.at("run_after"), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(o.at("worker"), "w-1");
  EXPECT_EQ(o.at("lease_expires_at"), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(o.at("created_at"), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(o.at("started_at"), "2023-11-14T22:13:20.123457Z");
  EXPECT_EQ(o.at("completed_at"), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(o.at("updated_at"), "2023-11-14T22:13:21.000000Z");
}

TEST(JobJsonTest, AbsentValuesAreNull) {
  jobs::Job job;
  job.uuid = "u";
  json::object o = Written(job, jobs::FieldSet::All());
  for (const char* key : {"input_text", "metadata", "result_label", "result_score", "error",
                          "worker", "lease_expires_at", "started_at", "completed_at"}) {
    EXPECT_TRUE(o.at(key).is_null()) << key;
  }
  EXPECT_EQ(o.at("status"), "pending");
  EXPECT_FALSE(o.contains("archived"));
}

TEST(JobJsonTest, OnlyTheAskedForFieldsAndAlwaysTheId) {
  const jobs::Job job = FullJob();
  EXPECT_EQ(Keys(Written(job, jobs::FieldSet::None())), std::vector<std::string>{"id"});
  std::string unknown;
  auto some = jobs::FieldSet::Parse("updated_at,status,metadata", &unknown);
  ASSERT_TRUE(some);
  EXPECT_EQ(Keys(Written(job, *some)),
            (std::vector<std::string>{"id", "status", "metadata", "updated_at"}));
  json::object light = Written(job, jobs::FieldSet::Light());
  EXPECT_FALSE(light.contains("input_text"));
  EXPECT_FALSE(light.contains("metadata"));
  EXPECT_TRUE(light.contains("result_score"));
}

TEST(JobJsonTest, ArchivedJobsCarryTheMarkAfterTheId) {
  jobs::Job job = FullJob();
  job.archived = true;
  json::object o = Written(job, jobs::FieldSet::None().With(jobs::Field::kStatus));
  EXPECT_EQ(Keys(o), (std::vector<std::string>{"id", "archived", "status"}));
  EXPECT_EQ(o.at("archived"), true);
}

TEST(JobJsonTest, ClaimedJobsEndWithTheLeaseToken) {
  std::string out;
  AppendClaimedJobJson(out, FullJob());
  json::object o = json::parse(out).as_object();
  EXPECT_EQ(Keys(o).back(), "lease_token");
  EXPECT_EQ(o.at("lease_token"), "01890000-0000-4000-8000-00000000abcd");
  EXPECT_EQ(o.size(), 20u);
}

TEST(JobJsonTest, JobResponseIsTheWholeJob) {
  const jobs::Job job = FullJob();
  http::Response r = JobResponse(201, job);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(json::parse(r.body), json::value(Written(job, jobs::FieldSet::All())));
}

TEST(JobJsonTest, AppendsAfterWhatIsAlreadyThere) {
  std::string out = "[";
  AppendJobJson(out, FullJob(), jobs::FieldSet::None());
  out += ',';
  AppendJobJson(out, FullJob(), jobs::FieldSet::None());
  out += ']';
  EXPECT_EQ(out, R"([{"id":"01890000-0000-7000-8000-000000000001"},)"
                 R"({"id":"01890000-0000-7000-8000-000000000001"}])");
}

}  // namespace
}  // namespace mljobs::api

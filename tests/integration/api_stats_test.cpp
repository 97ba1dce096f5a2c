// GET /jobs/stats and GET /jobs/stats/timeseries end to end on both backends: exact
// figures, one statement per read, and bad parameters as 400s naming the parameter.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/api_server.hpp"

namespace mljobs::testing {
namespace {

namespace json = boost::json;

class ApiStatsTest : public ApiServerTest {
 protected:
  // Five jobs (models m0 m1 m2 m0 m1): two completed in 1.5 ms and 30 ms, one failed.
  void SubmitAndFinish() {
    json::array jobs;
    for (int i = 0; i < 5; ++i) {
      jobs.push_back(json::object{{"model", "m" + std::to_string(i % 3)}, {"input_text", "t"}});
    }
    HttpResult r = server_->Post("/jobs/batch", json::serialize(json::object{{"jobs", jobs}}));
    ASSERT_EQ(r.status, 201) << r.body;
    const char* ms = pg() ? " * interval '1 millisecond'" : " * 1000";
    auto finish = [&](const std::string& status, const std::string& millis, int id) {
      db_->Query("UPDATE ml_jobs SET status = '" + status + "', started_at = created_at, " +
                 "completed_at = created_at + " + millis + ms + " WHERE id = " +
                 std::to_string(id));
    };
    finish("completed", "1.5", 1);
    finish("completed", "30", 2);
    finish("failed", "1", 3);
  }
};

TEST_P(ApiStatsTest, CountsByStatusModelAndRunTimeInOneStatement) {
  SubmitAndFinish();
  HttpResult r = server_->Get("/jobs/stats");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-db-statements"), "1");
  json::value expected = json::parse(R"({
    "by_status": {"pending": 2, "running": 0, "completed": 2, "failed": 1, "cancelled": 0},
    "total": 5,
    "created_last_24h": 5,
    "run_time": {"completed": 2, "avg_ms": 15.75, "p50_ms": 2.0, "p95_ms": 50.0},
    "by_model": {"m0": 2, "m1": 2, "m2": 1},
    "archived": {"total": 0, "by_status": {"pending": 0, "running": 0, "completed": 0,
                                           "failed": 0, "cancelled": 0}}
  })");
  EXPECT_EQ(Json(r), expected) << r.body;
}

TEST_P(ApiStatsTest, EmptyDatabaseHasZerosAndNoRunTimes) {
  HttpResult r = server_->Get("/jobs/stats");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value body = Json(r);
  EXPECT_EQ(body.at("total"), 0);
  EXPECT_EQ(body.at("run_time"),
            json::parse(R"({"completed": 0, "avg_ms": null, "p50_ms": null, "p95_ms": null})"));
  EXPECT_EQ(body.at("by_model"), json::object{});
}

TEST_P(ApiStatsTest, TimeseriesIsZeroFilledPerHourEndingNow) {
  SubmitAndFinish();
  HttpResult r = server_->Get("/jobs/stats/timeseries?hours=3");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-db-statements"), "1");
  json::value body = Json(r);
  EXPECT_EQ(body.at("hours"), 3);
  const json::array& series = body.at("series").as_array();
  ASSERT_EQ(series.size(), 3u);
  std::int64_t created = 0, completed = 0, failed = 0;
  for (const auto& h : series) {
    created += h.at("created").as_int64();
    completed += h.at("completed").as_int64();
    failed += h.at("failed").as_int64();
    std::string hour(h.at("hour").as_string());
    EXPECT_EQ(hour.substr(13), ":00:00.000000Z") << hour;
  }
  EXPECT_EQ(created, 5);
  EXPECT_EQ(completed, 2);
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(series[0].at("created"), 0);  // two hours ago: nothing yet

  HttpResult defaults = server_->Get("/jobs/stats/timeseries");
  ASSERT_EQ(defaults.status, 200) << defaults.body;
  EXPECT_EQ(Json(defaults).at("series").as_array().size(), 48u);
  HttpResult most = server_->Get("/jobs/stats/timeseries?hours=720");
  ASSERT_EQ(most.status, 200) << most.body;
  EXPECT_EQ(Json(most).at("series").as_array().size(), 720u);
}

TEST_P(ApiStatsTest, BadParametersAre400sNamingThem) {
  for (std::string target : {"/jobs/stats/timeseries?hours=0", "/jobs/stats/timeseries?hours=721",
                             "/jobs/stats/timeseries?hours=abc", "/jobs/stats/timeseries?hours=",
                             "/jobs/stats/timeseries?hours=2&hours=3"}) {
    HttpResult r = server_->Get(target);
    EXPECT_EQ(r.status, 400) << target << " -> " << r.body;
    EXPECT_EQ(Json(r).at("error").at("code"), "invalid_argument") << r.body;
    EXPECT_NE(r.body.find("hours"), std::string::npos) << r.body;
    EXPECT_EQ(r.Header("x-db-statements"), "0") << target;
  }
  HttpResult r = server_->Get("/jobs/stats?limit=5");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("limit"), std::string::npos) << r.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiStatsTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace mljobs::testing

// The admin API's metric queries in the engine's terms and back
// (ToQueryRequest, ToQueryResponse): `__name__` matchers instead of a
// metric, and each answered series named by its group's metric, through a
// real TsdbStore and QueryEngine.

#include "collector/service/metrics_query.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "collector/tsdb/query/query_engine.h"
#include "collector/tsdb/tsdb_store.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

v1::QueryMetricsRequest Request(const std::string& metric) {
  v1::QueryMetricsRequest req;
  req.set_metric(metric);
  req.set_start_ms(0);
  req.set_end_ms(10'000);
  return req;
}

void AddMatcher(v1::QueryMetricsRequest* req, const std::string& name, v1::LabelMatcher::Op op,
                const std::string& value) {
  v1::LabelMatcher* m = req->add_matchers();
  m->set_name(name);
  m->set_op(op);
  m->set_value(value);
}

// `name{k=v,...} n points` per answered series.
std::vector<std::string> Names(const v1::QueryMetricsResponse& resp) {
  std::vector<std::string> out;
  for (const v1::Series& s : resp.series()) {
    std::string line = s.name() + "{";
    for (const v1::Label& l : s.labels()) line += l.name() + "=" + l.value() + ",";
    out.push_back(line + "} " + std::to_string(s.points_size()) + " points");
  }
  return out;
}

TEST(ToQueryRequest, NameMatchersMayStandInForTheMetric) {
  v1::QueryMetricsRequest req = Request("");
  AddMatcher(&req, "__name__", v1::LabelMatcher::RE, "cpu_(user|system)");
  v1::Label* l = req.add_match();
  l->set_name("__name__");
  l->set_value("cpu_user");
  req.add_group_by("__name__");
  auto q = ToQueryRequest(req, 5);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->metric, "");
  ASSERT_EQ(q->matchers.size(), 2u);
  EXPECT_EQ(q->matchers[0].name, "__name__");
  EXPECT_EQ(q->matchers[0].op, tsdb::LabelMatcher::Op::kEq);
  EXPECT_EQ(q->matchers[0].value, "cpu_user");
  EXPECT_EQ(q->matchers[1].op, tsdb::LabelMatcher::Op::kRe);
  EXPECT_EQ(q->matchers[1].value, "cpu_(user|system)");
  EXPECT_EQ(q->group_by, std::vector<std::string>{"__name__"});
}

TEST(ToQueryResponse, EachSeriesIsNamedByItsGroupsMetric) {
  tsdb::QueryRequest query;
  query.agg = tsdb::Aggregation::kMax;
  tsdb::QueryResult result;
  result.groups.push_back({{{"agent", "a1"}, {"host", "x"}}, {{0, 1}}, false, "cpu_system"});
  result.groups.push_back({{{"agent", "a1"}}, {{0, 2}}, false, "cpu_user"});
  result.groups.push_back({{}, {{0, 3}}, false, ""});
  v1::QueryMetricsResponse resp;
  ToQueryResponse(query, std::move(result), /*one_agent=*/true, &resp);
  EXPECT_EQ(Names(resp), (std::vector<std::string>{"cpu_system{host=x,} 1 points",
                                                   "cpu_user{} 1 points", "{} 1 points"}));
}

TEST(ToQueryResponse, SaysWhichAggregationThePointsHold) {
  tsdb::QueryRequest query;
  query.agg = tsdb::Aggregation::kRate;
  v1::QueryMetricsResponse resp;
  ToQueryResponse(query, tsdb::QueryResult(), false, &resp);
  EXPECT_EQ(resp.agg(), "rate");
  query.agg = tsdb::Aggregation::kNone;
  query.last_point = true;
  resp.Clear();
  ToQueryResponse(query, tsdb::QueryResult(), false, &resp);
  EXPECT_EQ(resp.agg(), "none");
}

// The whole conversion around a real store and engine, as DoQueryMetrics runs it.
class MetricsQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = tsdb::TsdbStore::Open(dir_.path(), tsdb::TsdbOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    std::vector<tsdb::IngestSeries> batch;
    for (const char* agent : {"a1", "a2"}) {
      for (const char* metric : {"cpu_user", "cpu_system", "mem_free"}) {
        batch.push_back({metric, {{"agent", agent}}, false, {{1000, 1}, {2000, 2}}});
      }
    }
    ASSERT_TRUE(store_->Append(batch).ok());
  }

  absl::StatusOr<v1::QueryMetricsResponse> Query(const v1::QueryMetricsRequest& req) {
    auto query = ToQueryRequest(req, 10'000);
    if (!query.ok()) return query.status();
    tsdb::QueryEngine engine(store_.get());
    auto result = engine.Run(*query);
    if (!result.ok()) return result.status();
    v1::QueryMetricsResponse resp;
    ToQueryResponse(*query, std::move(*result), !req.agent_id().empty(), &resp);
    return resp;
  }

  testing::TempDir dir_;
  std::unique_ptr<tsdb::TsdbStore> store_;
};

TEST_F(MetricsQueryTest, RawSeriesOfSeveralMetricsCarryTheirNames) {
  v1::QueryMetricsRequest req = Request("");
  req.set_agent_id("a1");
  AddMatcher(&req, "__name__", v1::LabelMatcher::RE, "cpu_.*");
  auto resp = Query(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(Names(*resp),
            (std::vector<std::string>{"cpu_system{} 2 points", "cpu_user{} 2 points"}));
}

TEST_F(MetricsQueryTest, GroupedByNameOrNot) {
  v1::QueryMetricsRequest req = Request("");
  AddMatcher(&req, "__name__", v1::LabelMatcher::RE, "cpu_user|mem_free");
  req.set_agg("max");
  req.add_group_by("__name__");
  auto by_name = Query(req);
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_EQ(Names(*by_name),
            (std::vector<std::string>{"cpu_user{} 1 points", "mem_free{} 1 points"}));
  req.clear_group_by();
  req.add_group_by("agent");
  auto by_agent = Query(req);
  ASSERT_TRUE(by_agent.ok()) << by_agent.status();
  EXPECT_EQ(Names(*by_agent),
            (std::vector<std::string>{"{agent=a1,} 1 points", "{agent=a2,} 1 points"}));
  // A single-metric query names its series by the metric, as before.
  v1::QueryMetricsRequest one = Request("mem_free");
  one.set_agg("max");
  one.add_group_by("agent");
  auto single = Query(one);
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(Names(*single), (std::vector<std::string>{"mem_free{agent=a1,} 1 points",
                                                      "mem_free{agent=a2,} 1 points"}));
}

TEST_F(MetricsQueryTest, NoMetricAndNoNameMatcherIsInvalidArgument) {
  v1::QueryMetricsRequest req = Request("");
  AddMatcher(&req, "__name__", v1::LabelMatcher::NE, "cpu_user");
  auto resp = Query(req);
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(resp.status().message().find("metric: empty, and no __name__ matcher with = or =~"),
            std::string::npos)
      << resp.status();
}

}  // namespace
}  // namespace steward::collector

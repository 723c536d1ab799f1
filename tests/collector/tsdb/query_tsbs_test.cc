// TSBS "devops" queries on a tiny data set whose answers are worked out by
// hand, each run on a source without rollups and on one with 1 m, 5 m and
// 1 h rollups; and small cases of the semantics in query.h (resets,
// quantile interpolation, negative times, absent group labels, top-k).

#include <cstdint>
#include <string>
#include <vector>

#include "collector/tsdb/query/query_engine.h"
#include "gtest/gtest.h"
#include "tests/collector/tsdb/memory_series_source.h"
#include "tests/collector/tsdb/query_test_util.h"

namespace steward::collector::tsdb {
namespace {

using query_test::Describe;
using query_test::MemorySeriesSource;

constexpr int64_t kT0 = 1'699'999'200'000;  // a whole hour
constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 3'600'000;
constexpr char kMetric[] = "cpu_usage_user";

Labels HostLabels(int h) {
  return {{"hostname", "host_" + std::to_string(h)}, {"region", h < 2 ? "eu-west-1" : "us-east-1"}};
}

// Three hosts, a sample every 10 s: value (i % 30) * 3 + h for sample i, so
// every 5 minutes cycle through h..87+h. host_0 and host_1 have 2 hours,
// host_2 stops after 600 samples; host_1 spikes to 95.5 at i = 100 and to
// 99 at i = 200.
void FillDevops(MemorySeriesSource& source) {
  for (int h = 0; h < 3; ++h) {
    std::vector<Sample> samples;
    int n = h == 2 ? 600 : 720;
    for (int i = 0; i < n; ++i) {
      double value = (i % 30) * 3 + h;
      if (h == 1 && i == 100) value = 95.5;
      if (h == 1 && i == 200) value = 99;
      samples.push_back({kT0 + i * 10'000, value});
    }
    source.Add(kMetric, HostLabels(h), false, samples);
  }
}

QueryRequest Devops(Aggregation agg, int64_t start_ms, int64_t end_ms, int64_t step_ms) {
  return query_test::MakeRequest(kMetric, agg, start_ms, end_ms, step_ms);
}

LabelMatcher Host(int h) {
  return {"hostname", LabelMatcher::Op::kEq, "host_" + std::to_string(h)};
}

// Parameter: whether the source keeps rollups.
class TsbsDevops : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    FillDevops(source_);
    if (GetParam()) source_.set_rollup_resolutions({kMinute, 5 * kMinute, kHour});
  }

  QueryResult Run(const QueryRequest& r) {
    SCOPED_TRACE(Describe(r));
    absl::StatusOr<QueryResult> result = engine_.Run(r);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : QueryResult{};
  }

  // Rollups serve the mergeable aggregations whenever the source has them.
  void ExpectRollupsUsed() { EXPECT_EQ(source_.rollup_reads() > 0, GetParam()); }

  MemorySeriesSource source_;
  QueryEngine engine_{&source_};
};

TEST_P(TsbsDevops, SingleGroupby111MaxOfOneHostInFiveMinuteBuckets) {
  QueryRequest r = Devops(Aggregation::kMax, kT0, kT0 + kHour - 1, 5 * kMinute);
  r.matchers = {Host(1)};
  QueryResult result = Run(r);
  ASSERT_EQ(result.groups.size(), 1u) << Describe(result);
  EXPECT_TRUE(result.groups[0].labels.empty());
  ASSERT_EQ(result.groups[0].points.size(), 12u);
  for (int j = 0; j < 12; ++j) {
    double expected = j == 3 ? 95.5 : j == 6 ? 99 : 88;
    EXPECT_EQ(result.groups[0].points[j].time_ms, kT0 + j * 5 * kMinute);
    EXPECT_EQ(result.groups[0].points[j].value, expected) << "bucket " << j;
  }
  ExpectRollupsUsed();
}

TEST_P(TsbsDevops, DoubleGroupby1HourlyAveragePerHost) {
  QueryRequest r = Devops(Aggregation::kAvg, kT0, kT0 + 2 * kHour - 1, kHour);
  r.group_by = {"hostname"};
  QueryResult result = Run(r);
  ASSERT_EQ(result.groups.size(), 3u) << Describe(result);
  // (0 + 3 + … + 87) / 30 = 43.5, plus h; host_1's spikes add 64.5 and 38.
  const double expected[3][2] = {{43.5, 43.5}, {44.5 + 102.5 / 360, 44.5}, {45.5, 45.5}};
  for (int h = 0; h < 3; ++h) {
    const ResultGroup& g = result.groups[h];
    EXPECT_EQ(g.labels, (Labels{{"hostname", "host_" + std::to_string(h)}}));
    ASSERT_EQ(g.points.size(), 2u);
    for (int hour = 0; hour < 2; ++hour) {
      EXPECT_EQ(g.points[hour].time_ms, kT0 + hour * kHour);
      // Summation order may differ between rollups and raw samples.
      EXPECT_NEAR(g.points[hour].value, expected[h][hour], 1e-9)
          << "host " << h << " hour " << hour;
    }
  }
  ExpectRollupsUsed();
}

TEST_P(TsbsDevops, HighCpu1PointsAboveNinetyOfOneHost) {
  QueryRequest r = Devops(Aggregation::kNone, kT0, kT0 + 2 * kHour - 1, 0);
  r.matchers = {Host(1)};
  r.filter = ValueFilter{ValueFilter::Op::kGt, 90};
  QueryResult result = Run(r);
  ASSERT_EQ(result.groups.size(), 1u) << Describe(result);
  EXPECT_EQ(result.groups[0].labels, HostLabels(1));
  ASSERT_EQ(result.groups[0].points.size(), 2u);
  EXPECT_EQ(result.groups[0].points[0].time_ms, kT0 + 1'000'000);
  EXPECT_EQ(result.groups[0].points[0].value, 95.5);
  EXPECT_EQ(result.groups[0].points[1].time_ms, kT0 + 2'000'000);
  EXPECT_EQ(result.groups[0].points[1].value, 99);
}

TEST_P(TsbsDevops, HighCpuAllOmitsHostsWithoutSuchPoints) {
  QueryRequest r = Devops(Aggregation::kNone, kT0, kT0 + 2 * kHour - 1, 0);
  r.filter = ValueFilter{ValueFilter::Op::kGe, 89};  // host_2's peaks, host_1's spikes
  QueryResult result = Run(r);
  ASSERT_EQ(result.groups.size(), 2u) << Describe(result);
  EXPECT_EQ(result.groups[0].labels, HostLabels(1));
  EXPECT_EQ(result.groups[0].points.size(), 2u);
  EXPECT_EQ(result.groups[1].labels, HostLabels(2));
  EXPECT_EQ(result.groups[1].points.size(), 20u);  // 600 samples, 20 cycles
}

TEST_P(TsbsDevops, LastpointPerSeries) {
  QueryRequest r = Devops(Aggregation::kNone, kT0, kT0 + 2 * kHour - 1, 0);
  r.last_point = true;
  QueryResult result = Run(r);
  ASSERT_EQ(result.groups.size(), 3u) << Describe(result);
  const int64_t times[3] = {kT0 + 7'190'000, kT0 + 7'190'000, kT0 + 5'990'000};
  for (int h = 0; h < 3; ++h) {
    EXPECT_EQ(result.groups[h].labels, HostLabels(h));
    ASSERT_EQ(result.groups[h].points.size(), 1u);
    EXPECT_EQ(result.groups[h].points[0].time_ms, times[h]);
    EXPECT_EQ(result.groups[h].points[0].value, 87 + h);
  }
}

TEST_P(TsbsDevops, GroupbyOrderbyLimitLastFiveMinutesBeforeATime) {
  // TSBS: max per minute where time < x, the 5 latest minutes. Here: the
  // range from the minute 4 minutes before x's minute to just before x.
  const int64_t x = kT0 + kHour + 25'000;
  QueryRequest r = Devops(Aggregation::kMax, kT0 + 56 * kMinute, x - 1, kMinute);
  QueryResult result = Run(r);
  ASSERT_EQ(result.groups.size(), 1u) << Describe(result);
  const double expected[5] = {35, 53, 71, 89, 8};
  ASSERT_EQ(result.groups[0].points.size(), 5u) << Describe(result);
  for (int m = 0; m < 5; ++m) {
    EXPECT_EQ(result.groups[0].points[m].time_ms, kT0 + (56 + m) * kMinute);
    EXPECT_EQ(result.groups[0].points[m].value, expected[m]) << "minute " << 56 + m;
  }
  // Four whole minutes: fewer rollup buckets than worth a read, so raw.
  EXPECT_EQ(source_.rollup_reads(), 0);
}

TEST_P(TsbsDevops, TopKeepsTheHostsWithTheHighestMaximum) {
  QueryRequest r = Devops(Aggregation::kMax, kT0, kT0 + 2 * kHour - 1, kHour);
  r.group_by = {"hostname"};
  r.top_k = 2;
  QueryResult result = Run(r);
  ASSERT_EQ(result.groups.size(), 2u) << Describe(result);
  EXPECT_EQ(result.groups[0].labels, (Labels{{"hostname", "host_1"}}));  // 99
  EXPECT_EQ(result.groups[1].labels, (Labels{{"hostname", "host_2"}}));  // 89
}

TEST_P(TsbsDevops, WholeRangeBucketWithUnalignedEdges) {
  // One bucket from 30 s past the first hour to 10 s before the end: rollups
  // for the whole minutes inside, raw samples at both edges.
  QueryRequest r = Devops(Aggregation::kCount, kT0 + 30'000, kT0 + 2 * kHour - 10'001, 0);
  r.group_by = {"region"};
  QueryResult result = Run(r);
  ASSERT_EQ(result.groups.size(), 2u) << Describe(result);
  // Samples 3..718 of host_0 and host_1 (716 each), 3..599 of host_2.
  EXPECT_EQ(result.groups[0].points[0].value, 2 * 716);
  EXPECT_EQ(result.groups[0].points[0].time_ms, kT0 + 30'000);
  EXPECT_EQ(result.groups[1].points[0].value, 597);
  ExpectRollupsUsed();
}

INSTANTIATE_TEST_SUITE_P(RawAndRollups, TsbsDevops, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Rollups" : "Raw"; });

}  // namespace
}  // namespace steward::collector::tsdb

// Small hand-made cases of query.h's rules (counter resets, quantile
// interpolation, negative times, absent group labels, ties), request
// validation and the limits.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "collector/tsdb/query/query_engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/collector/tsdb/memory_series_source.h"
#include "tests/collector/tsdb/query_test_util.h"

namespace steward::collector::tsdb {
namespace {

using query_test::Describe;
using query_test::MakeRequest;
using query_test::MemorySeriesSource;
using ::testing::HasSubstr;

// The points of the only group of a result, as (time, value) pairs.
std::vector<std::pair<int64_t, double>> OnlyGroup(const absl::StatusOr<QueryResult>& result) {
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return {};
  EXPECT_EQ(result->groups.size(), 1u) << Describe(*result);
  if (result->groups.size() != 1) return {};
  std::vector<std::pair<int64_t, double>> points;
  for (const Point& p : result->groups[0].points) points.push_back({p.time_ms, p.value});
  return points;
}

using Points = std::vector<std::pair<int64_t, double>>;

class QuerySemantics : public ::testing::Test {
 protected:
  MemorySeriesSource source_;
  QueryEngine engine_{&source_};
};

TEST_F(QuerySemantics, IncreaseAndRateCountADropAsAReset) {
  source_.Add("requests", {{"host", "a"}}, true, {{0, 10}, {1000, 15}, {2000, 3}, {3000, 8}});
  // Bucket 0: 10 -> 15. Bucket 2000: 15 -> 3 (reset: +3), 3 -> 8 (+5).
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("requests", Aggregation::kIncrease, 0, 3999, 2000))),
            (Points{{0, 5}, {2000, 8}}));
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("requests", Aggregation::kRate, 0, 3999, 2000))),
            (Points{{0, 2.5}, {2000, 4}}));
  // The first sample in the range has no predecessor: nothing before the
  // range is read.
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("requests", Aggregation::kIncrease, 1000, 3999, 0))),
            (Points{{1000, 8}}));
  // Whole range of 4 s: rate = 13 / 4.
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("requests", Aggregation::kRate, 0, 3999, 0))),
            (Points{{0, 13.0 / 4}}));
}

TEST_F(QuerySemantics, RateIsSummedOverTheGroupsSeries) {
  source_.Add("requests", {{"host", "a"}}, true, {{0, 0}, {1000, 4}});
  source_.Add("requests", {{"host", "b"}}, true, {{500, 100}, {1500, 106}});
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("requests", Aggregation::kIncrease, 0, 1999, 2000))),
            (Points{{0, 10}}));
}

TEST_F(QuerySemantics, QuantilesInterpolateLinearlyBetweenClosestRanks) {
  std::vector<Sample> samples;
  for (int i = 10; i >= 1; --i) samples.push_back({i, static_cast<double>(i)});
  source_.Add("latency", {}, false, samples);
  auto value = [&](Aggregation agg) {
    Points points = OnlyGroup(engine_.Run(MakeRequest("latency", agg, 0, 100, 0)));
    return points.empty() ? -1 : points[0].second;
  };
  EXPECT_DOUBLE_EQ(value(Aggregation::kP50), 5.5);
  EXPECT_DOUBLE_EQ(value(Aggregation::kP90), 9.1);
  EXPECT_DOUBLE_EQ(value(Aggregation::kP99), 9.91);
}

TEST_F(QuerySemantics, BucketsAreFlooredBelowZero) {
  source_.Add("temp", {}, false, {{-1000, 1}, {-1, 2}, {0, 4}, {999, 8}});
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("temp", Aggregation::kSum, -1000, 999, 1000))),
            (Points{{-1000, 3}, {0, 12}}));
  // The first bucket's time is its aligned start, before the range's start.
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("temp", Aggregation::kSum, -1, 999, 1000))),
            (Points{{-1000, 2}, {0, 12}}));
}

TEST_F(QuerySemantics, TimesAtTheEndsOfInt64) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  source_.Add("temp", {}, false, {{kMin, 1}, {0, 4}, {kMax, 2}});
  source_.set_rollup_resolutions({1000});
  // Rollups in the middle, raw samples at both edges, no overflow.
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("temp", Aggregation::kCount, kMin, kMax, 0))),
            (Points{{kMin, 3}}));
  EXPECT_GT(source_.rollup_reads(), 0);
  // The bucket of kMin starts below it (at -3 * 2^62) and is reported at kMin.
  const int64_t step = 3 * (int64_t{1} << 61);
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("temp", Aggregation::kSum, kMin, kMax, step))),
            (Points{{kMin, 1}, {0, 4}, {step, 2}}));
  // A step of 1 over the whole int64 range has too many buckets, and says so.
  absl::StatusOr<QueryResult> result =
      engine_.Run(MakeRequest("temp", Aggregation::kSum, kMin, kMax, 1));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("18446744073709551615 buckets"));
}

TEST_F(QuerySemantics, RollupsOnlyOverTheSourcesMinimumSpanUnlessRawMayBeGone) {
  constexpr int64_t kMinute = 60'000;
  std::vector<Sample> samples;
  for (int64_t t = 0; t < 10 * 60 * kMinute; t += 10'000) samples.push_back({t, 1});
  source_.Add("temp", {}, false, samples);
  source_.set_rollup_resolutions({kMinute, 5 * kMinute});
  source_.set_min_rollup_span(3 * 60 * kMinute, /*raw_from_ms=*/5 * 60 * kMinute);
  auto count = [&](int64_t start, int64_t end) {
    const int before = source_.rollup_reads();
    Points points = OnlyGroup(engine_.Run(MakeRequest("temp", Aggregation::kCount, start, end, 0)));
    EXPECT_EQ(points, (Points{{start, static_cast<double>((end - start + 1) / 10'000)}}));
    return source_.rollup_reads() > before;
  };
  // From 5 h on, raw samples are kept: 2 h is read raw, 4 h from rollups.
  EXPECT_FALSE(count(5 * 60 * kMinute, 7 * 60 * kMinute - 1));
  EXPECT_TRUE(count(5 * 60 * kMinute, 9 * 60 * kMinute - 1));
  // Before 5 h raw samples may be gone: rollups from 8 buckets on.
  EXPECT_TRUE(count(60 * kMinute, 100 * kMinute - 1));
  EXPECT_FALSE(count(60 * kMinute, 67 * kMinute - 1));  // 7 whole buckets
}

TEST_F(QuerySemantics, SeriesWithoutAGroupLabelGroupTogether) {
  source_.Add("mem", {{"host", "a"}, {"team", "x"}}, false, {{0, 1}});
  source_.Add("mem", {{"host", "b"}}, false, {{0, 2}});
  source_.Add("mem", {{"host", "c"}}, false, {{0, 4}});
  QueryRequest r = MakeRequest("mem", Aggregation::kSum, 0, 10, 0);
  r.group_by = {"team", "team"};
  absl::StatusOr<QueryResult> result = engine_.Run(r);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Describe(*result), "mem{} [0:6]; mem{team=\"x\"} [0:1]");
}

TEST_F(QuerySemantics, LastTakesTheGreatestValueOnATimeTie) {
  source_.Add("mem", {{"host", "a"}}, false, {{0, 7}, {5, 1}});
  source_.Add("mem", {{"host", "b"}}, false, {{5, 3}});
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("mem", Aggregation::kLast, 0, 10, 0))),
            (Points{{5, 3}}));
}

TEST_F(QuerySemantics, LastIsAtTheTimeOfItsSampleNotOfItsBucket) {
  source_.Add("mem", {{"host", "a"}}, false, {{1000, 1}, {4500, 2}, {7000, 3}, {8200, 4}});
  source_.Add("mem", {{"host", "b"}}, false, {{5100, 9}});
  // Buckets of 5 s from 0: [0, 5000) last at 4500, [5000, 10000) at 8200.
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("mem", Aggregation::kLast, 0, 9999, 5000))),
            (Points{{4500, 2}, {8200, 4}}));
  // One bucket: the latest sample of the range, at its own time.
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("mem", Aggregation::kLast, 2000, 7500, 0))),
            (Points{{7000, 3}}));
  // The other aggregations keep the bucket's start.
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("mem", Aggregation::kMax, 0, 9999, 5000))),
            (Points{{0, 2}, {5000, 9}}));
}

TEST_F(QuerySemantics, RateOverAPartialBucketDividesByTheTimeItCovers) {
  // A counter growing by 1 per second, a sample every second.
  std::vector<Sample> samples;
  for (int64_t t = 0; t <= 180'000; t += 1000) samples.push_back({t, static_cast<double>(t / 1000)});
  source_.Add("requests", {{"host", "a"}}, true, samples);
  // 40 s .. 140 s with 60 s steps: [40, 60) covers 20 s, [60, 120) all 60 s,
  // [120, 140.001) 20.001 s (end_ms counts as a whole millisecond). The
  // first sample (40 s) has no predecessor: 19 increases in the first
  // bucket, 60 in the second, 21 in the last.
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("requests", Aggregation::kIncrease, 40'000, 140'000, 60'000))),
            (Points{{0, 19}, {60'000, 60}, {120'000, 21}}));
  EXPECT_EQ(OnlyGroup(engine_.Run(MakeRequest("requests", Aggregation::kRate, 40'000, 140'000, 60'000))),
            (Points{{0, 19.0 / 20}, {60'000, 1}, {120'000, 21.0 / 20.001}}));
}

TEST_F(QuerySemantics, TopKBreaksTiesByLabels) {
  for (const char* host : {"d", "b", "c", "a"})
    source_.Add("mem", {{"host", host}}, false, {{0, 1}});
  QueryRequest r = MakeRequest("mem", Aggregation::kMax, 0, 10, 0);
  r.by_series = true;
  r.top_k = 2;
  absl::StatusOr<QueryResult> result = engine_.Run(r);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Describe(*result), "mem{host=\"a\"} [0:1]; mem{host=\"b\"} [0:1]");
}

// Several metrics in one query: `__name__` matchers, grouping by `__name__`
// and the metric each result group carries.
class QueryMetricNames : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.Add("cpu_user", {{"host", "a"}}, false, {{0, 10}, {1000, 30}});
    source_.Add("cpu_system", {{"host", "a"}}, false, {{0, 5}, {1000, 40}});
    source_.Add("cpu_user", {{"host", "b"}}, false, {{0, 20}});
    source_.Add("mem", {{"host", "a"}}, false, {{0, 99}});
  }
  std::string Run(const QueryRequest& r) {
    absl::StatusOr<QueryResult> result = engine_.Run(r);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? Describe(*result) : std::string(result.status().message());
  }
  static QueryRequest Cpu(Aggregation agg, int64_t step_ms) {
    QueryRequest r = MakeRequest("", agg, 0, 1999, step_ms);
    r.matchers = {{"__name__", LabelMatcher::Op::kRe, "cpu_.*"}};
    return r;
  }
  MemorySeriesSource source_;
  QueryEngine engine_{&source_};
};

TEST_F(QueryMetricNames, GroupByNameGivesOneGroupPerMetricCarryingIt) {
  QueryRequest r = Cpu(Aggregation::kMax, 1000);
  r.group_by = {"__name__"};
  EXPECT_EQ(Run(r), "cpu_system{} [0:5 1000:40]; cpu_user{} [0:20 1000:30]");
  r.group_by = {"host", "__name__"};
  EXPECT_EQ(Run(r),
            "cpu_system{host=\"a\"} [0:5 1000:40]; cpu_user{host=\"a\"} [0:10 1000:30]; "
            "cpu_user{host=\"b\"} [0:20]");
}

TEST_F(QueryMetricNames, AnAggregateAcrossMetricsHasNoMetricUnlessTheRequestNamesOne) {
  QueryRequest r = Cpu(Aggregation::kMax, 0);
  r.group_by = {"host"};
  EXPECT_EQ(Run(r), "{host=\"a\"} [0:40]; {host=\"b\"} [0:20]");
  r.group_by = {};
  EXPECT_EQ(Run(r), "{} [0:40]");
  // metric and `__name__` both apply; the groups carry the request's metric.
  r.metric = "cpu_user";
  EXPECT_EQ(Run(r), "cpu_user{} [0:30]");
  r.group_by = {"host"};
  EXPECT_EQ(Run(r), "cpu_user{host=\"a\"} [0:30]; cpu_user{host=\"b\"} [0:20]");
}

TEST_F(QueryMetricNames, RawAndLastPointsAreEachSeriesWithItsMetric) {
  QueryRequest raw = MakeRequest("", Aggregation::kNone, 0, 1999, 0);
  raw.matchers = {{"__name__", LabelMatcher::Op::kRe, "cpu_user|mem"},
                  {"host", LabelMatcher::Op::kEq, "a"}};
  // Same labels, told apart by the metric, which orders them.
  EXPECT_EQ(Run(raw), "cpu_user{host=\"a\"} [0:10 1000:30]; mem{host=\"a\"} [0:99]");
  QueryRequest last = Cpu(Aggregation::kNone, 0);
  last.last_point = true;
  last.matchers.push_back({"__name__", LabelMatcher::Op::kNe, "cpu_system"});
  EXPECT_EQ(Run(last), "cpu_user{host=\"a\"} [1000:30]; cpu_user{host=\"b\"} [0:20]");
  last.matchers.pop_back();
  last.top_k = 2;
  EXPECT_EQ(Run(last), "cpu_system{host=\"a\"} [1000:40]; cpu_user{host=\"a\"} [1000:30]");
}

TEST_F(QueryMetricNames, BySeriesKeepsSeriesOfSeveralMetricsApart) {
  QueryRequest r = Cpu(Aggregation::kSum, 0);
  r.by_series = true;
  EXPECT_EQ(
      Run(r),
      "cpu_system{host=\"a\"} [0:45]; cpu_user{host=\"a\"} [0:40]; cpu_user{host=\"b\"} [0:20]");
}

TEST_F(QueryMetricNames, TopKBreaksTiesByMetric) {
  source_.Add("cpu_idle", {{"host", "a"}}, false, {{0, 40}});
  QueryRequest r = Cpu(Aggregation::kMax, 0);
  r.group_by = {"__name__"};
  r.top_k = 2;
  // cpu_idle and cpu_system tie at 40; cpu_user's 30 is cut.
  EXPECT_EQ(Run(r), "cpu_idle{} [0:40]; cpu_system{} [0:40]");
}

TEST_F(QueryMetricNames, WithoutAMetricANameMatcherWithEqOrReIsRequired) {
  for (const std::vector<LabelMatcher>& matchers :
       {std::vector<LabelMatcher>{},
        std::vector<LabelMatcher>{{"host", LabelMatcher::Op::kEq, "a"}},
        std::vector<LabelMatcher>{{"__name__", LabelMatcher::Op::kNe, "mem"}},
        std::vector<LabelMatcher>{{"__name__", LabelMatcher::Op::kNotRe, "cpu_.*"}}}) {
    QueryRequest r = MakeRequest("", Aggregation::kMax, 0, 10, 0);
    r.matchers = matchers;
    absl::StatusOr<QueryResult> result = engine_.Run(r);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << Describe(r);
    EXPECT_THAT(std::string(result.status().message()),
                ::testing::StartsWith("metric: empty, and no __name__ matcher with = or =~"));
  }
  QueryRequest eq = MakeRequest("", Aggregation::kMax, 0, 10, 0);
  eq.matchers = {{"__name__", LabelMatcher::Op::kEq, "mem"}};
  EXPECT_EQ(Run(eq), "{} [0:99]");
}

TEST_F(QueryMetricNames, LimitsCountEverySelectedMetric) {
  QueryRequest r = Cpu(Aggregation::kNone, 0);
  r.max_series = 2;
  absl::StatusOr<QueryResult> result = engine_.Run(r);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result.status().message(),
            "query selects 3 series, above the limit of 2; narrow it with label matchers");
  r.max_series = 3;
  r.max_points = 4;
  result = engine_.Run(r);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("above the limit of 4"));
  r.max_points = 5;
  EXPECT_TRUE(engine_.Run(r).ok());
}

TEST(QueryLimits, TooManySeriesIsResourceExhausted) {
  MemorySeriesSource source;
  for (int i = 0; i < 3; ++i) source.Add("cpu", {{"host", std::to_string(i)}}, false, {{0, 1}});
  QueryEngine engine(&source);
  QueryRequest r = MakeRequest("cpu", Aggregation::kMax, 0, 10, 0);
  r.max_series = 2;
  absl::StatusOr<QueryResult> result = engine.Run(r);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result.status().message(),
            "query selects 3 series, above the limit of 2; narrow it with label matchers");
  EXPECT_EQ(source.sample_reads(), 0);  // refused before reading
  r.max_series = 3;
  EXPECT_TRUE(engine.Run(r).ok());
}

TEST(QueryLimits, TooManyPointsIsResourceExhausted) {
  MemorySeriesSource source;
  std::vector<Sample> samples;
  for (int i = 0; i < 100; ++i) samples.push_back({i, 1.0 * i});
  for (int i = 0; i < 3; ++i) source.Add("cpu", {{"host", std::to_string(i)}}, false, samples);
  QueryEngine engine(&source);
  QueryRequest raw = MakeRequest("cpu", Aggregation::kNone, 0, 99, 0);
  raw.max_points = 250;
  absl::StatusOr<QueryResult> result = engine.Run(raw);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("above the limit of 250"));
  // top_k counts the points it keeps: 2 series × 100 points.
  QueryRequest top = MakeRequest("cpu", Aggregation::kMax, 0, 99, 1);
  top.by_series = true;
  top.top_k = 2;
  top.max_points = 200;
  EXPECT_TRUE(engine.Run(top).ok());
  top.max_points = 199;
  EXPECT_EQ(engine.Run(top).status().code(), absl::StatusCode::kResourceExhausted);
}

// Each malformed request fails naming its field.
TEST(QueryValidation, MalformedRequestsNameTheField) {
  MemorySeriesSource source;
  source.Add("gauge", {{"host", "a"}}, false, {{0, 1}});
  QueryEngine engine(&source);
  struct Case {
    std::string field;
    QueryRequest request;
  };
  std::vector<Case> cases;
  auto add = [&](std::string field, auto change) {
    QueryRequest r = MakeRequest("gauge", Aggregation::kAvg, 0, 1000, 10);
    change(r);
    cases.push_back({std::move(field), r});
  };
  add("metric", [](QueryRequest& r) { r.metric = ""; });
  add("metric", [](QueryRequest& r) {
    r.metric = "";
    r.matchers = {{"__name__", LabelMatcher::Op::kNotRe, "g.*"}};
  });
  add("end_ms", [](QueryRequest& r) { r.end_ms = -1; });
  add("step_ms", [](QueryRequest& r) { r.step_ms = -10; });
  add("step_ms", [](QueryRequest& r) { r.step_ms = 1, r.end_ms = 20'000; });  // 20,001 buckets
  add("agg", [](QueryRequest& r) { r.agg = static_cast<Aggregation>(99); });
  add("agg", [](QueryRequest& r) { r.agg = Aggregation::kRate; });  // a gauge
  add("filter", [](QueryRequest& r) {
    r.agg = Aggregation::kIncrease;
    r.filter = ValueFilter{};
  });
  add("step_ms", [](QueryRequest& r) { r.agg = Aggregation::kNone; });
  add("top_k", [](QueryRequest& r) { r.agg = Aggregation::kNone, r.step_ms = 0, r.top_k = 1; });
  add("agg", [](QueryRequest& r) { r.last_point = true; });
  add("group_by", [](QueryRequest& r) { r.by_series = true, r.group_by = {"host"}; });
  add("group_by", [](QueryRequest& r) { r.group_by = {""}; });
  add("max_series", [](QueryRequest& r) { r.max_series = 0; });
  add("max_points", [](QueryRequest& r) { r.max_points = -1; });
  add("top_k", [](QueryRequest& r) { r.top_k = -1; });
  for (const Case& c : cases) {
    absl::StatusOr<QueryResult> result = engine.Run(c.request);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << Describe(c.request) << ": " << result.status();
    EXPECT_THAT(std::string(result.status().message()), ::testing::StartsWith(c.field + ": "))
        << Describe(c.request);
  }
}

TEST(QueryValidation, AggregationNamesRoundTrip) {
  for (int i = 0; i < 12; ++i) {
    auto agg = static_cast<Aggregation>(i);
    absl::StatusOr<Aggregation> parsed = ParseAggregation(AggregationName(agg));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, agg);
  }
  absl::StatusOr<Aggregation> unknown = ParseAggregation("median");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("agg: unknown aggregation 'median'"));
}

TEST(QueryValidation, SourceErrorsPassThrough) {
  MemorySeriesSource source;
  QueryEngine engine(&source);
  QueryRequest r = MakeRequest("gauge", Aggregation::kMax, 0, 10, 0);
  r.matchers = {{"host", LabelMatcher::Op::kRe, "(unclosed"}};
  absl::StatusOr<QueryResult> result = engine.Run(r);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("(unclosed"));
}

}  // namespace
}  // namespace steward::collector::tsdb

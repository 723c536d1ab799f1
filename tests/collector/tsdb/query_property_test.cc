// The query engine against the brute-force oracle: random series of several
// metrics (gauges, counters with resets, labels from a small vocabulary,
// negative times) and random queries (every aggregation, steps, groupings
// also by `__name__`, label and `__name__` matchers with or without a
// metric, top-k, filters, last point, ranges with and without data), with
// and without rollups in the source.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "collector/tsdb/query/query_engine.h"
#include "gtest/gtest.h"
#include "tests/collector/tsdb/memory_series_source.h"
#include "tests/collector/tsdb/query_brute_force.h"
#include "tests/collector/tsdb/query_test_util.h"

namespace steward::collector::tsdb {
namespace {

using query_test::BruteForceQuery;
using query_test::Describe;
using query_test::MemorySeriesSource;
using query_test::SameResult;

constexpr int64_t kTimeSpan = 3000;  // samples in [-kTimeSpan, kTimeSpan]
const std::vector<int64_t> kResolutions = {10, 50, 200};

// Random data and queries from one seed.
class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Uniform(0, static_cast<int64_t>(v.size()) - 1)];
  }
  // A multiple of 1/4, so sums are exact and only summation order could
  // ever differ; `exact_values` false draws arbitrary doubles instead.
  double Value(double lo, double hi) {
    if (!exact_values_) return std::uniform_real_distribution<double>(lo, hi)(rng_);
    return static_cast<double>(
               Uniform(static_cast<int64_t>(lo * 4), static_cast<int64_t>(hi * 4))) /
           4;
  }
  void set_exact_values(bool exact) { exact_values_ = exact; }

  void FillSource(MemorySeriesSource& source) {
    for (const char* metric : {"gauge", "gauge_2", "counter", "counter_2"}) {
      std::set<Labels> seen;
      int n = static_cast<int>(Uniform(1, 12));
      for (int i = 0; i < n; ++i) {
        Labels labels = {{"host", Pick<std::string>({"a", "b", "c", "d"})}};
        if (Chance(0.7)) labels.push_back({"cpu", Pick<std::string>({"0", "1", "2"})});
        if (Chance(0.5)) labels.push_back({"team", Pick<std::string>({"x", "y"})});
        std::sort(labels.begin(), labels.end());
        if (!seen.insert(labels).second) continue;
        bool counter = std::string(metric).starts_with("counter");
        source.Add(metric, labels, counter, Samples(counter));
      }
    }
  }

  QueryRequest Query() {
    QueryRequest r;
    r.agg = static_cast<Aggregation>(Uniform(0, 11));
    r.last_point = Chance(0.08);
    if (r.last_point) r.agg = Aggregation::kNone;
    bool counter_agg = r.agg == Aggregation::kRate || r.agg == Aggregation::kIncrease;
    // The metrics: a name, `__name__` matchers that name them (rate and
    // increase only counters), or both.
    const int64_t how = Pick<int64_t>({0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2});  // 2: both
    if (how != 1) {
      r.metric = counter_agg || Chance(0.4) ? Pick<std::string>({"counter", "counter_2"})
                                            : Pick<std::string>({"gauge", "gauge_2"});
    }
    if (how != 0) {
      std::vector<std::string> names = {"counter.*", "counter|counter_2", "counter_(2|x)",
                                        "counter"};
      if (!counter_agg) {
        names.insert(names.end(),
                     {"gauge.*", "gauge|counter_2", ".*", "(gauge|counter)_2", "g.*e"});
      }
      LabelMatcher m{kMetricNameLabel, LabelMatcher::Op::kRe, Pick(names)};
      if (!m.value.ends_with("*") && !m.value.ends_with(")") &&
          m.value.find('|') == std::string::npos && Chance(0.5)) {
        m.op = LabelMatcher::Op::kEq;  // a plain name
      }
      r.matchers.push_back(m);
    }
    int matchers = static_cast<int>(Pick<int64_t>({0, 0, 1, 2}));
    for (int i = 0; i < matchers; ++i) r.matchers.push_back(Matcher());
    r.start_ms = Uniform(-kTimeSpan - 500, kTimeSpan);
    r.end_ms = r.start_ms + Pick<int64_t>({0, Uniform(0, 50), Uniform(0, 1000), Uniform(0, 4000),
                                           2 * kTimeSpan + 1000});
    bool raw = r.agg == Aggregation::kNone;
    if (!raw && !r.last_point) {
      r.step_ms = Pick<int64_t>({0, 1, 7, 10, 20, 50, 100, 200, 400, 1000, 3000});
      if (Chance(0.15)) {
        r.by_series = true;
      } else {
        for (const char* name : {"host", "cpu", "team", "zone", "__name__"}) {
          if (Chance(0.3)) r.group_by.push_back(name);
        }
      }
      if (Chance(0.4)) r.top_k = Uniform(1, 4);
    }
    if (r.last_point && Chance(0.3)) r.top_k = Uniform(1, 4);
    if (!counter_agg && Chance(0.25)) {
      r.filter = ValueFilter{static_cast<ValueFilter::Op>(Uniform(0, 3)), Value(-50, 50)};
    }
    return r;
  }

 private:
  std::vector<Sample> Samples(bool counter) {
    std::set<int64_t> times;
    int n = static_cast<int>(Uniform(0, 40));
    for (int i = 0; i < n; ++i) times.insert(Uniform(-kTimeSpan, kTimeSpan));
    std::vector<Sample> samples;
    double value = Value(0, 100);
    for (int64_t t : times) {
      if (!counter) {
        value = Value(-100, 100);
      } else if (Chance(0.1)) {
        value = Value(0, 20);  // a reset
      } else {
        value += Value(0, 30);
      }
      samples.push_back({t, value});
    }
    return samples;
  }

  // A matcher on a label or (1 in 5) on the metric name; on the name, = and
  // =~ only narrow what the query names already.
  LabelMatcher Matcher() {
    LabelMatcher m;
    m.name = Pick<std::string>({"host", "cpu", "team", "zone", kMetricNameLabel});
    m.op = static_cast<LabelMatcher::Op>(Uniform(0, 3));
    if (m.name == kMetricNameLabel) {
      const bool plain = m.op == LabelMatcher::Op::kEq || m.op == LabelMatcher::Op::kNe;
      m.value = plain ? Pick<std::string>({"gauge", "counter_2", "nothing", ""})
                      : Pick<std::string>({"gauge_2|counter", ".*_2", "counter", "[gc].*e", ""});
    } else if (m.op == LabelMatcher::Op::kEq || m.op == LabelMatcher::Op::kNe) {
      m.value = Pick<std::string>({"a", "b", "0", "1", "x", ""});
    } else {
      m.value = Pick<std::string>({"a|b", "[ab]", ".*", ".+", "[0-1]", "x", ""});
    }
    return m;
  }

  std::mt19937_64 rng_;
  bool exact_values_ = true;
};

// Runs `rounds` random data sets of `queries` queries each; every query is
// answered by the engine without and with rollups and by the oracle.
void CompareWithOracle(uint64_t seed, int rounds, int queries, bool exact_values) {
  Generator gen(seed);
  gen.set_exact_values(exact_values);
  int non_empty = 0;
  int rollup_queries = 0;
  int top_k_cut = 0;
  int several_metrics = 0;  // non-empty results over series of two metrics or more
  int queries_run = 0;
  for (int round = 0; round < rounds; ++round) {
    MemorySeriesSource source;
    gen.FillSource(source);
    QueryEngine engine(&source);
    for (int q = 0; q < queries; ++q) {
      QueryRequest request = gen.Query();
      if (!exact_values) request.top_k = 0;  // ranks could tie up to rounding
      SCOPED_TRACE(::testing::Message()
                   << "round " << round << " query " << q << ": " << Describe(request));
      QueryResult expected = BruteForceQuery(source, request);
      for (bool rollups : {false, true}) {
        source.set_rollup_resolutions(rollups ? kResolutions : std::vector<int64_t>{});
        int before = source.rollup_reads();
        absl::StatusOr<QueryResult> actual = engine.Run(request);
        ASSERT_TRUE(actual.ok()) << actual.status();
        EXPECT_TRUE(SameResult(*actual, expected, request.agg)) << "rollups " << rollups;
        rollup_queries += source.rollup_reads() > before ? 1 : 0;
      }
      if (::testing::Test::HasFailure()) return;
      ++queries_run;
      non_empty += expected.groups.empty() ? 0 : 1;
      std::set<std::string> metrics;
      const std::vector<SeriesRef> selected =
          source.Select(request.metric, request.matchers).value();
      for (const SeriesRef& ref : selected) metrics.insert(ref.metric);
      several_metrics += !expected.groups.empty() && metrics.size() > 1 ? 1 : 0;
      size_t groups_without_k = 0;
      if (request.top_k > 0) {
        QueryRequest all = request;
        all.top_k = 0;
        groups_without_k = BruteForceQuery(source, all).groups.size();
        top_k_cut += groups_without_k > expected.groups.size() ? 1 : 0;
      }
    }
  }
  // The comparisons above mean something only if the queries found data,
  // went through rollups, had top-k drop groups and spanned several metrics.
  int total = rounds * queries;
  std::printf("%d queries, %d non-empty, %d read rollups, %d cut by top-k, %d of several metrics\n",
              queries_run, non_empty, rollup_queries, top_k_cut, several_metrics);
  EXPECT_GT(non_empty, total / 3);
  EXPECT_GT(several_metrics, total / 20);
  EXPECT_GT(rollup_queries, total / 10);
  if (exact_values) {
    EXPECT_GT(top_k_cut, total / 50);
  }
}

TEST(QueryProperty, EngineEqualsBruteForceOnRandomData) {
  CompareWithOracle(20240611, 300, 20, true);
}

TEST(QueryProperty, EngineEqualsBruteForceOnArbitraryDoubles) {
  CompareWithOracle(7, 100, 20, false);
}

}  // namespace
}  // namespace steward::collector::tsdb

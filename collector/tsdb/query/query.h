#pragma once
// Requests to and results from the TSDB query engine (query_engine.h), with
// the precise meaning of every field. The engine reads series through
// SeriesSource only, so the same semantics hold on the in-memory test source
// and on the RocksDB store.
//
// SEMANTICS
//
// Selection. Series matching every matcher and, when `metric` is set, of
// `metric` (SeriesSource::Select). A matcher named `__name__`
// (kMetricNameLabel) tests the metric name, with any op (=, !=, =~, !~;
// regexes fully anchored as for labels): `__name__=~"cpu_(user|system)"`
// selects two metrics in one query. A query needs a metric: `metric`, or at
// least one `__name__` matcher with = or =~ (else InvalidArgument naming
// `metric`); when both are given, both apply. Several metrics' series are
// grouped and aggregated together like one metric's unless grouped by
// `__name__` (see Groups). More than `max_series` selected series is
// ResourceExhausted, before any sample is read.
//
// Range. Only samples with start_ms <= time_ms <= end_ms are ever seen (both
// ends inclusive, as SeriesSource::ReadSamples); nothing before start_ms is
// read, not even for rate/increase. end_ms < start_ms is InvalidArgument.
//
// Value filter. When set, samples whose value does not satisfy it are dropped
// before anything else (aggregation, last point, raw points). NaN never
// satisfies a filter. Not allowed with rate/increase (a filtered counter
// has no meaning).
//
// Buckets. step_ms > 0: bucket b covers [b, b + step_ms) with b a multiple
// of step_ms since the Unix epoch (floor division, also for negative
// times), intersected with the range; a point's time is b, which may be
// before start_ms for the first bucket (and is clamped to INT64_MIN in the
// one case where b would be below it), except for `last` (below). step_ms
// == 0: one bucket, the whole range, whose time is start_ms. The time a
// bucket covers is its part of the range: step_ms for a bucket wholly
// inside, less for a first bucket that starts before start_ms or a last
// one that ends after end_ms (end_ms counted as a whole millisecond:
// [b, b + step_ms) meets [start_ms, end_ms + 1)), and end_ms - start_ms + 1
// ms for step_ms == 0. Buckets without a value are omitted (no
// NaN or zero filling). A grid of more than max_buckets buckets over the
// range is InvalidArgument naming step_ms.
//
// Groups. group_by names label names, and `__name__` for the metric name
// (which is not a label): the group of a series is the (name, value) pairs
// of those labels it has, sorted by name, and with `__name__` its metric; a
// label the series lacks is left out of its group labels (so it groups with
// series where it is also absent). Empty group_by: every series in one group
// with no labels. by_series: every series its own group, labelled with all
// its labels. Groups without any point are omitted.
//
// Every group carries a metric (ResultGroup::metric): the series' own for a
// group of one series (raw points, last point, by_series), the group's when
// group_by has `__name__`, and otherwise, a group that may span several
// metrics, the request's `metric` (empty when the query names its metrics
// with `__name__` matchers only). `__name__` is never among group labels.
//
// Aggregations over the raw samples of all the group's series that fall in
// the bucket:
//   avg = sum / count; min; max; sum; count (a double);
//   last = the value of the latest sample; when several series have a sample
//          at that same time, the greatest of their values. Its point's time
//          is that sample's time, not the bucket's start (so a `last` over
//          the last bucket says how fresh the value is);
//   p50/p90/p99 = exact quantile q in {0.5, 0.9, 0.99}, linear interpolation
//          between closest ranks (numpy's default, "type 7"): with the n
//          values sorted ascending as x[0..n-1], h = (n - 1) * q, i = floor(h),
//          result = x[i] + (h - i) * (x[i+1] - x[i]) (just x[i] when i = n-1).
// rate/increase are computed per series, then summed over the group's series:
//   increase of a series in a bucket = the sum, over each of its samples s in
//          the bucket that has a predecessor p (the series' previous sample in
//          the range), of s - p, or of s when s < p (a drop is a counter reset:
//          the counter restarted from 0, as in Prometheus). No extrapolation
//          to the bucket edges. A series' first sample in the range
//          contributes nothing, so a bucket whose only samples are first
//          samples has no value.
//   rate = increase / (the time the bucket covers, in seconds; see Buckets):
//          step_ms for whole buckets, less for the partial first and last
//          buckets of a range that does not fall on step_ms multiples (an
//          increase over 20 s of a 60 s bucket is divided by 20 s, not 60 s),
//          the range's width for step_ms == 0.
//   rate and increase are refused (InvalidArgument) when a selected series
//   is not a counter (SeriesRef::counter).
// none = raw points: each series is its own group (by_series implied) and its
//   points are its samples in the range (after the filter); step_ms, group_by
//   and top_k must be left unset.
// NaN samples follow IEEE arithmetic through sum/avg/rate/increase; with NaN
// among the inputs of min, max, last or a quantile the result is unspecified.
//
// Last point (last_point = true): for every selected series its latest sample
// in the range (after the filter), as a group labelled with all the series'
// labels, with its metric, holding one point at that sample's own time. agg
// must be none, step_ms 0 and group_by empty; top_k is allowed (ranked by
// the value).
//
// Top-k (top_k > 0): keeps the top_k groups whose aggregate over the whole
// range (the same aggregation over one bucket [start_ms, end_ms], i.e. the
// result of the query with step_ms = 0) is highest; ties are broken by group
// metric, then labels, ascending; NaN ranks lowest. Not allowed with agg none.
//
// Order. Without top_k, groups ascend by their metric, then by their labels
// (lexicographic over the (name, value) pairs); with top_k they come in rank
// order, highest first. Points ascend by time.
//
// Limits. More than max_points points in the result (after top_k) is
// ResourceExhausted. All limits must be positive.
//
// Rollups. For avg/min/max/sum/count/last without a value filter, when the
// source keeps rollups, the engine reads them instead of raw samples: with
// step_ms > 0 it uses the coarsest resolution that divides step_ms and fits
// at least kMinRollupBuckets (8) whole rollup buckets in the range, and
// whose whole buckets span at least the source's MinRollupSpanMs (a
// TsdbStore: 3 h, or 0 when raw samples at the range's start may be gone
// to retention); with step_ms == 0 the coarsest that fits as much. (Fewer
// buckets cost a rollup read per series on top of the raw edges and save
// little: a short range is read raw.) Rollup buckets that lie wholly
// inside the range are read as rollups; the parts of the range before the
// first and after the last whole rollup bucket are read as raw samples.
// Besides, a series whose samples all lie in the range (the source knows
// its first and latest sample: SeriesSource::ReadRollupsWithin) is read
// from rollups alone, partial buckets at the range's ends included (they
// hold nothing from outside it), at the coarsest resolution that divides
// step_ms (any, for step_ms == 0) other than the finest, whatever the
// range's length: one read and no raw edges. Results equal the raw path's
// exactly for min/max/count/last; sum and avg may differ by floating-point
// summation order only.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/tsdb/series_source.h"

namespace steward::collector::tsdb {

// What a query computes per group and bucket (see SEMANTICS above).
enum class Aggregation {
  kNone,  // raw points
  kAvg,
  kMin,
  kMax,
  kSum,
  kCount,
  kLast,
  kP50,
  kP90,
  kP99,
  kRate,
  kIncrease,
};

// "none", "avg", …, "p99", "rate", "increase".
absl::string_view AggregationName(Aggregation agg);
// The inverse of AggregationName; InvalidArgument naming field `agg` for an
// unknown name.
absl::StatusOr<Aggregation> ParseAggregation(absl::string_view name);

// A condition on raw sample values: value <op> threshold.
struct ValueFilter {
  enum class Op { kGt, kGe, kLt, kLe };
  Op op = Op::kGt;
  double threshold = 0;

  bool Accepts(double value) const {
    switch (op) {
      case Op::kGt:
        return value > threshold;
      case Op::kGe:
        return value >= threshold;
      case Op::kLt:
        return value < threshold;
      case Op::kLe:
        return value <= threshold;
    }
    return false;
  }
};

// One query. A plain value type; defaults are a raw query with the default
// limits.
struct QueryRequest {
  std::string metric;                  // may be empty with a `__name__` matcher
  std::vector<LabelMatcher> matchers;  // on labels, or on `__name__`
  int64_t start_ms = 0;  // inclusive
  int64_t end_ms = 0;    // inclusive
  int64_t step_ms = 0;   // 0 = one bucket over the whole range
  Aggregation agg = Aggregation::kNone;
  std::vector<std::string> group_by;  // label names, or `__name__`
  bool by_series = false;             // group by every label
  int64_t top_k = 0;                  // 0 = every group
  bool last_point = false;
  std::optional<ValueFilter> filter;

  int64_t max_series = 10'000;
  int64_t max_points = 1'000'000;
  int64_t max_buckets = 11'000;
};

// A point of a result: a bucket's start (a raw sample's time; for `last`,
// the time of the sample it reports) and value.
struct Point {
  int64_t time_ms = 0;
  double value = 0;
};

// One group of a result: its labels and its points, ascending by time.
struct ResultGroup {
  Labels labels;
  std::vector<Point> points;
  // Every series of the group is a counter (SeriesRef::counter).
  bool counter = false;
  // The group's metric as SEMANTICS (Groups) defines it; empty for an
  // aggregate that may span several metrics of a query without `metric`.
  std::string metric;
};

// The answer to a QueryRequest: groups in the order SEMANTICS defines.
struct QueryResult {
  std::vector<ResultGroup> groups;
};

}  // namespace steward::collector::tsdb

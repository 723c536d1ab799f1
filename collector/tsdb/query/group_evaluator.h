#pragma once
// Computes the points of one group of series: the heart of the query engine,
// one code path per kind of aggregation (mergeable, quantile, counter, raw).

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/tsdb/query/bucket_accumulator.h"
#include "collector/tsdb/query/bucket_grid.h"
#include "collector/tsdb/query/query.h"
#include "collector/tsdb/series_source.h"

namespace steward::collector::tsdb {

// One group's points and the value it is ranked by for top-k (the
// aggregate over the whole range; the value for last_point).
struct GroupPoints {
  std::vector<Point> points;
  double rank = 0;
};

// Evaluates groups of one validated request against a source, reading each
// series once. Chooses at construction whether rollups serve the request
// (see "Rollups" in query.h). Not thread-safe; one per query.
class GroupEvaluator {
 public:
  GroupEvaluator(SeriesSource* source, const QueryRequest& request);

  // The points of the group made of `series`, ascending by time; empty when
  // no sample of the group counts. Errors are the source's.
  absl::StatusOr<GroupPoints> Evaluate(const std::vector<const SeriesRef*>& series);

  // Mergeable aggregations (IsMergeable) only, for a group evaluated in
  // parts: the per-bucket accumulators of `series`, which Merge() adds up
  // and PointsOf() turns into the group's points (for `request`), as
  // Evaluate() would.
  using Buckets = std::map<int64_t, BucketAccumulator>;
  absl::StatusOr<Buckets> Accumulate(const std::vector<const SeriesRef*>& series);
  static void Merge(const Buckets& from, Buckets* into);
  static GroupPoints PointsOf(const Buckets& buckets, const QueryRequest& request);

  // The rollup plan in use, if any.
  const std::optional<RollupPlan>& rollup_plan() const { return plan_; }

 private:
  absl::StatusOr<GroupPoints> EvaluateMergeable(const std::vector<const SeriesRef*>& series);
  absl::StatusOr<GroupPoints> EvaluateQuantile(const std::vector<const SeriesRef*>& series);
  absl::StatusOr<GroupPoints> EvaluateCounter(const std::vector<const SeriesRef*>& series);
  absl::StatusOr<GroupPoints> EvaluateRaw(const std::vector<const SeriesRef*>& series);
  absl::StatusOr<GroupPoints> EvaluateLastPoint(const std::vector<const SeriesRef*>& series);

  // Replaces samples_ with the samples of series `id` in [start_ms, end_ms]
  // that pass the request's filter.
  absl::Status ReadSamples(uint64_t id, int64_t start_ms, int64_t end_ms);
  // Replaces rollups_ with the series' rollup buckets of the plan, checking
  // that the source kept to the plan.
  absl::Status ReadRollups(uint64_t id);
  // Replaces rollups_ with the series' buckets at whole_resolution_ over
  // the range when every sample of it lies in the range (*used).
  absl::Status ReadWholeSeriesRollups(uint64_t id, bool* used);
  // InternalError unless every bucket of rollups_ starts in [first_ms,
  // last_ms] at a multiple of resolution_ms (the source kept to the ask).
  absl::Status CheckRollups(uint64_t id, int64_t resolution_ms, int64_t first_ms,
                            int64_t last_ms) const;
  // Like ReadSamples, for ascending disjoint spans.
  absl::Status ReadSpans(uint64_t id, const std::vector<TimeSpan>& spans);

  SeriesSource* source_;
  const QueryRequest& request_;
  BucketGrid grid_;
  std::optional<RollupPlan> plan_;
  std::vector<TimeSpan> raw_edges_;  // the plan's raw head and tail, if any
  int64_t whole_resolution_ = 0;  // for series wholly in the range; 0: none
  std::vector<Sample> samples_;
  std::vector<RollupBucket> rollups_;
};

}  // namespace steward::collector::tsdb

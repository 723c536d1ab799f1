#pragma once
// What the engine keeps per group and bucket for the mergeable aggregations
// (avg, min, max, sum, count, last), fed by raw samples and rollup buckets
// alike, and the exact quantile of a set of values.

#include <cstdint>
#include <span>
#include <vector>

#include "collector/tsdb/query/query.h"
#include "collector/tsdb/sample.h"
#include "collector/tsdb/series_source.h"

namespace steward::collector::tsdb {

// min/max/sum/count/last of the samples added so far, in any order and from
// any series. Adding a RollupBucket equals adding the samples it summarizes
// (up to summation order). `last` on a time tie keeps the greater value.
// A plain value type; empty() until something is added.
class BucketAccumulator {
 public:
  void Add(const Sample& sample);
  // Adds samples of one series in ascending time order (as Add of each).
  void AddSeriesRun(std::span<const Sample> run);
  void Add(const RollupBucket& bucket);
  void Merge(const BucketAccumulator& other);

  bool empty() const { return count_ == 0; }
  // The value of `agg`, one of avg/min/max/sum/count/last; requires !empty().
  double Value(Aggregation agg) const;
  // The time of the sample `last` reports; requires !empty().
  int64_t last_ms() const { return last_ms_; }

 private:
  void AddLast(int64_t time_ms, double value);

  double min_ = 0;
  double max_ = 0;
  double sum_ = 0;
  uint64_t count_ = 0;
  double last_ = 0;
  int64_t last_ms_ = 0;
};

// True for the aggregations BucketAccumulator serves (and rollups can).
bool IsMergeable(Aggregation agg);

// The quantile q (0 <= q <= 1) of `values` by linear interpolation between
// closest ranks (numpy's default); sorts `values`. Requires values non-empty.
double Quantile(std::vector<double>& values, double q);

// q for kP50/kP90/kP99.
double QuantileOf(Aggregation agg);

}  // namespace steward::collector::tsdb

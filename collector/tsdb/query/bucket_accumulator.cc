#include "collector/tsdb/query/bucket_accumulator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace steward::collector::tsdb {

void BucketAccumulator::AddLast(int64_t time_ms, double value) {
  if (count_ == 0 || time_ms > last_ms_ || (time_ms == last_ms_ && value > last_)) {
    last_ms_ = time_ms;
    last_ = value;
  }
}

void BucketAccumulator::Add(const Sample& sample) {
  AddLast(sample.time_ms, sample.value);
  if (count_ == 0) {
    min_ = max_ = sample.value;
  } else {
    min_ = std::min(min_, sample.value);
    max_ = std::max(max_, sample.value);
  }
  sum_ += sample.value;
  ++count_;
}

void BucketAccumulator::AddSeriesRun(std::span<const Sample> run) {
  if (run.empty()) return;
  // Times ascend strictly, so the run's last sample is its latest.
  AddLast(run.back().time_ms, run.back().value);
  size_t i = 0;
  if (count_ == 0) {
    min_ = max_ = run[0].value;
    sum_ += run[0].value;
    i = 1;
  }
  double lo = min_, hi = max_, sum = sum_;
  for (; i < run.size(); ++i) {
    const double v = run[i].value;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  min_ = lo;
  max_ = hi;
  sum_ = sum;
  count_ += run.size();
}

void BucketAccumulator::Add(const RollupBucket& bucket) {
  if (bucket.count == 0) return;
  AddLast(bucket.last_ms, bucket.last);
  if (count_ == 0) {
    min_ = bucket.min;
    max_ = bucket.max;
  } else {
    min_ = std::min(min_, bucket.min);
    max_ = std::max(max_, bucket.max);
  }
  sum_ += bucket.sum;
  count_ += bucket.count;
}

void BucketAccumulator::Merge(const BucketAccumulator& other) {
  if (other.empty()) return;
  Add(RollupBucket{.min = other.min_,
                   .max = other.max_,
                   .sum = other.sum_,
                   .count = other.count_,
                   .last = other.last_,
                   .last_ms = other.last_ms_});
}

double BucketAccumulator::Value(Aggregation agg) const {
  switch (agg) {
    case Aggregation::kAvg:
      return sum_ / static_cast<double>(count_);
    case Aggregation::kMin:
      return min_;
    case Aggregation::kMax:
      return max_;
    case Aggregation::kSum:
      return sum_;
    case Aggregation::kCount:
      return static_cast<double>(count_);
    case Aggregation::kLast:
      return last_;
    default:
      break;
  }
  std::abort();  // The engine only asks for mergeable aggregations.
}

bool IsMergeable(Aggregation agg) {
  switch (agg) {
    case Aggregation::kAvg:
    case Aggregation::kMin:
    case Aggregation::kMax:
    case Aggregation::kSum:
    case Aggregation::kCount:
    case Aggregation::kLast:
      return true;
    default:
      return false;
  }
}

double Quantile(std::vector<double>& values, double q) {
  // NaN sorts last, so the order is strict-weak even with NaN values.
  std::sort(values.begin(), values.end(),
            [](double a, double b) { return a < b || (!std::isnan(a) && std::isnan(b)); });
  double h = static_cast<double>(values.size() - 1) * q;
  double floor_h = std::floor(h);
  size_t i = static_cast<size_t>(floor_h);
  if (i + 1 >= values.size()) return values.back();
  return values[i] + (h - floor_h) * (values[i + 1] - values[i]);
}

double QuantileOf(Aggregation agg) {
  switch (agg) {
    case Aggregation::kP50:
      return 0.5;
    case Aggregation::kP90:
      return 0.9;
    case Aggregation::kP99:
      return 0.99;
    default:
      break;
  }
  std::abort();  // The engine only asks for quantile aggregations.
}

}  // namespace steward::collector::tsdb

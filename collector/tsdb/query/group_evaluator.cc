#include "collector/tsdb/query/group_evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "collector/tsdb/query/bucket_accumulator.h"
#include "common/status_macros.h"

namespace steward::collector::tsdb {
namespace {

using SeriesList = std::vector<const SeriesRef*>;

// The rollup fields an aggregation reads (count always comes).
uint32_t RollupFieldsFor(Aggregation agg) {
  switch (agg) {
    case Aggregation::kMin: return kRollupMin;
    case Aggregation::kMax: return kRollupMax;
    case Aggregation::kSum:
    case Aggregation::kAvg: return kRollupSum;
    case Aggregation::kCount: return 0;
    case Aggregation::kLast: return kRollupLast;
    default: return kAllRollupFields;
  }
}

// Fewer whole rollup buckets than this in the range: read raw (query.h).
constexpr int kMinRollupBuckets = 8;

// The coarsest rollup plan that serves `request`, if any.
std::optional<RollupPlan> ChooseRollups(const SeriesSource& source, const QueryRequest& request,
                                        const BucketGrid& grid) {
  if (!IsMergeable(request.agg) || request.filter.has_value() || request.last_point) {
    return std::nullopt;
  }
  std::vector<int64_t> resolutions = source.RollupResolutions();
  const int64_t min_span = source.MinRollupSpanMs(request.start_ms);
  for (auto r = resolutions.rbegin(); r != resolutions.rend(); ++r) {
    if (*r <= 0 || (request.step_ms > 0 && request.step_ms % *r != 0)) continue;
    std::optional<RollupPlan> plan = PlanRollups(grid, *r);
    if (!plan.has_value()) continue;
    // Buckets in [first, last]; both are multiples of *r, so no overflow
    // in the unsigned difference.
    const uint64_t buckets =
        (static_cast<uint64_t>(plan->rollup_last_ms) - static_cast<uint64_t>(plan->rollup_first_ms)) /
            static_cast<uint64_t>(*r) + 1;
    if (buckets >= static_cast<uint64_t>(kMinRollupBuckets) &&
        (min_span <= 0 || buckets >= static_cast<uint64_t>(min_span / *r))) {
      return plan;
    }
  }
  return std::nullopt;
}

// The rollup resolution for series lying wholly in the range (read with
// ReadRollupsWithin: no raw edges, one read): the coarsest that divides the
// step (any, for step 0), but not the finest the source keeps, whose
// buckets hold too few samples to beat reading them raw; 0 for none.
int64_t ChooseWholeSeriesRollups(const SeriesSource& source, const QueryRequest& request) {
  if (!IsMergeable(request.agg) || request.filter.has_value() || request.last_point) return 0;
  std::vector<int64_t> resolutions = source.RollupResolutions();
  for (size_t i = resolutions.size(); i-- > 1;) {
    const int64_t r = resolutions[i];
    if (r > 0 && (request.step_ms == 0 || request.step_ms % r == 0)) return r;
  }
  return 0;
}

// Points from per-bucket values, ascending by bucket time.
template <typename Map, typename ValueFn>
std::vector<Point> ToPoints(const Map& buckets, ValueFn value) {
  std::vector<Point> points;
  points.reserve(buckets.size());
  for (const auto& [time_ms, state] : buckets) points.push_back({time_ms, value(state)});
  return points;
}

// Whether sample (t, v) is later than (best_t, best_v) under "latest, then
// greatest value" (query.h's rule for last and last_point).
bool IsLater(int64_t t, double v, int64_t best_t, double best_v) {
  return t > best_t || (t == best_t && v > best_v);
}

}  // namespace

GroupEvaluator::GroupEvaluator(SeriesSource* source, const QueryRequest& request)
    : source_(source),
      request_(request),
      grid_(request.start_ms, request.end_ms, request.step_ms),
      plan_(ChooseRollups(*source, request, grid_)),
      whole_resolution_(ChooseWholeSeriesRollups(*source, request)) {
  if (plan_.has_value()) {
    for (const auto& span : {plan_->raw_head, plan_->raw_tail}) {
      if (span.has_value()) raw_edges_.push_back({span->start_ms, span->end_ms});
    }
  }
}

absl::Status GroupEvaluator::ReadSamples(uint64_t id, int64_t start_ms, int64_t end_ms) {
  return ReadSpans(id, {TimeSpan{start_ms, end_ms}});
}

absl::Status GroupEvaluator::ReadSpans(uint64_t id, const std::vector<TimeSpan>& spans) {
  samples_.clear();
  RETURN_IF_ERROR(source_->ReadSampleSpans(id, spans, &samples_));
  if (request_.filter.has_value()) {
    const ValueFilter& filter = *request_.filter;
    std::erase_if(samples_, [&filter](const Sample& s) { return !filter.Accepts(s.value); });
  }
  return absl::OkStatus();
}

absl::Status GroupEvaluator::ReadRollups(uint64_t id) {
  rollups_.clear();
  RETURN_IF_ERROR(source_->ReadRollups(id, plan_->resolution_ms, plan_->rollup_first_ms,
                                       plan_->rollup_last_ms, RollupFieldsFor(request_.agg),
                                       &rollups_));
  return CheckRollups(id, plan_->resolution_ms, plan_->rollup_first_ms, plan_->rollup_last_ms);
}

absl::Status GroupEvaluator::CheckRollups(uint64_t id, int64_t resolution_ms, int64_t first_ms,
                                          int64_t last_ms) const {
  for (const RollupBucket& bucket : rollups_) {
    if (bucket.start_ms < first_ms || bucket.start_ms > last_ms ||
        bucket.start_ms % resolution_ms != 0) {
      return absl::InternalError(absl::StrCat("series ", id, ": the source returned a ",
                                              resolution_ms, " ms rollup bucket at ",
                                              bucket.start_ms, ", outside what was asked"));
    }
  }
  return absl::OkStatus();
}

absl::Status GroupEvaluator::ReadWholeSeriesRollups(uint64_t id, bool* used) {
  rollups_.clear();
  const int64_t r = whole_resolution_;
  RETURN_IF_ERROR(source_->ReadRollupsWithin(id, r, grid_.start_ms(), grid_.end_ms(),
                                             RollupFieldsFor(request_.agg), &rollups_, used));
  return CheckRollups(id, r, FloorDiv(grid_.start_ms(), r) * r, FloorDiv(grid_.end_ms(), r) * r);
}

absl::StatusOr<GroupPoints> GroupEvaluator::Evaluate(const SeriesList& series) {
  if (request_.last_point) return EvaluateLastPoint(series);
  switch (request_.agg) {
    case Aggregation::kNone:
      return EvaluateRaw(series);
    case Aggregation::kP50:
    case Aggregation::kP90:
    case Aggregation::kP99:
      return EvaluateQuantile(series);
    case Aggregation::kRate:
    case Aggregation::kIncrease:
      return EvaluateCounter(series);
    default:
      return EvaluateMergeable(series);
  }
}

absl::StatusOr<GroupPoints> GroupEvaluator::EvaluateMergeable(const SeriesList& series) {
  ASSIGN_OR_RETURN(Buckets buckets, Accumulate(series));
  return PointsOf(buckets, request_);
}

absl::StatusOr<GroupEvaluator::Buckets> GroupEvaluator::Accumulate(const SeriesList& series) {
  Buckets buckets;
  auto add_samples = [&] {
    // Samples ascend: one bucket lookup and one run per bucket.
    const size_t n = samples_.size();
    for (size_t i = 0; i < n;) {
      const int64_t last = grid_.BucketLast(samples_[i].time_ms);
      size_t j = i + 1;
      while (j < n && samples_[j].time_ms <= last) ++j;
      buckets[grid_.BucketTime(samples_[i].time_ms)].AddSeriesRun(
          std::span<const Sample>(samples_.data() + i, j - i));
      i = j;
    }
  };
  for (const SeriesRef* ref : series) {
    if (whole_resolution_ > 0) {
      // A series with every sample in the range: its rollup buckets,
      // partial ones at the ends included, are exactly its samples.
      bool used = false;
      RETURN_IF_ERROR(ReadWholeSeriesRollups(ref->id, &used));
      if (used) {
        for (const RollupBucket& b : rollups_) buckets[grid_.BucketTime(b.start_ms)].Add(b);
        continue;
      }
    }
    if (!plan_.has_value()) {
      RETURN_IF_ERROR(ReadSamples(ref->id, grid_.start_ms(), grid_.end_ms()));
      add_samples();
      continue;
    }
    // Both raw edges in one read (one seek in a store).
    if (!raw_edges_.empty()) {
      RETURN_IF_ERROR(ReadSpans(ref->id, raw_edges_));
      add_samples();
    }
    RETURN_IF_ERROR(ReadRollups(ref->id));
    for (const RollupBucket& b : rollups_) buckets[grid_.BucketTime(b.start_ms)].Add(b);
  }
  return buckets;
}

void GroupEvaluator::Merge(const Buckets& from, Buckets* into) {
  for (const auto& [time_ms, acc] : from) (*into)[time_ms].Merge(acc);
}

GroupPoints GroupEvaluator::PointsOf(const Buckets& buckets, const QueryRequest& request) {
  GroupPoints out;
  out.points =
      ToPoints(buckets, [&request](const BucketAccumulator& a) { return a.Value(request.agg); });
  if (request.agg == Aggregation::kLast) {
    // `last` is at the time of the sample it reports, not its bucket's start.
    size_t i = 0;
    for (const auto& [time_ms, acc] : buckets) out.points[i++].time_ms = acc.last_ms();
  }
  if (request.top_k > 0 && !buckets.empty()) {
    BucketAccumulator whole;
    for (const auto& [time_ms, acc] : buckets) whole.Merge(acc);
    out.rank = whole.Value(request.agg);
  }
  return out;
}

absl::StatusOr<GroupPoints> GroupEvaluator::EvaluateQuantile(const SeriesList& series) {
  std::map<int64_t, std::vector<double>> buckets;
  std::vector<double> all;
  for (const SeriesRef* ref : series) {
    RETURN_IF_ERROR(ReadSamples(ref->id, grid_.start_ms(), grid_.end_ms()));
    for (const Sample& s : samples_) buckets[grid_.BucketTime(s.time_ms)].push_back(s.value);
    if (request_.top_k > 0) {
      for (const Sample& s : samples_) all.push_back(s.value);
    }
  }
  const double q = QuantileOf(request_.agg);
  GroupPoints out;
  out.points = ToPoints(buckets, [q](const std::vector<double>& values) {
    std::vector<double> copy = values;
    return Quantile(copy, q);
  });
  if (!all.empty()) out.rank = Quantile(all, q);
  return out;
}

absl::StatusOr<GroupPoints> GroupEvaluator::EvaluateCounter(const SeriesList& series) {
  std::map<int64_t, double> group;  // bucket time -> increase summed over series
  double total = 0;
  for (const SeriesRef* ref : series) {
    RETURN_IF_ERROR(ReadSamples(ref->id, grid_.start_ms(), grid_.end_ms()));
    std::map<int64_t, double> own;
    for (size_t i = 1; i < samples_.size(); ++i) {
      double prev = samples_[i - 1].value;
      double cur = samples_[i].value;
      // A drop is a reset: the counter restarted from 0 and reached `cur`.
      own[grid_.BucketTime(samples_[i].time_ms)] += cur < prev ? cur : cur - prev;
    }
    for (const auto& [time_ms, increase] : own) {
      group[time_ms] += increase;
      total += increase;
    }
  }
  GroupPoints out;
  if (request_.agg == Aggregation::kIncrease) {
    out.points = ToPoints(group, [](double increase) { return increase; });
    out.rank = total;
  } else {
    // Per second of the time each bucket covers: the first and last buckets
    // may be cut by the range.
    out.points.reserve(group.size());
    for (const auto& [time_ms, increase] : group) {
      out.points.push_back({time_ms, increase / grid_.CoveredSeconds(time_ms)});
    }
    out.rank = total / BucketGrid(grid_.start_ms(), grid_.end_ms(), 0).CoveredSeconds(grid_.start_ms());
  }
  return out;
}

absl::StatusOr<GroupPoints> GroupEvaluator::EvaluateRaw(const SeriesList& series) {
  GroupPoints out;
  for (const SeriesRef* ref : series) {
    RETURN_IF_ERROR(ReadSamples(ref->id, grid_.start_ms(), grid_.end_ms()));
    for (const Sample& s : samples_) out.points.push_back({s.time_ms, s.value});
  }
  // One series per group unless the source has two series with one label
  // set; keep the order by time then.
  if (series.size() > 1) {
    std::stable_sort(out.points.begin(), out.points.end(),
                     [](const Point& a, const Point& b) { return a.time_ms < b.time_ms; });
  }
  return out;
}

absl::StatusOr<GroupPoints> GroupEvaluator::EvaluateLastPoint(const SeriesList& series) {
  std::optional<Point> last;
  for (const SeriesRef* ref : series) {
    std::optional<Sample> latest;
    if (request_.filter.has_value()) {
      // The latest sample that passes the filter: the whole range is needed.
      RETURN_IF_ERROR(ReadSamples(ref->id, grid_.start_ms(), grid_.end_ms()));
      if (!samples_.empty()) latest = samples_.back();
    } else {
      RETURN_IF_ERROR(source_->ReadLastSample(ref->id, grid_.start_ms(), grid_.end_ms(), &latest));
    }
    if (!latest.has_value()) continue;
    const Sample& s = *latest;
    if (!last.has_value() || IsLater(s.time_ms, s.value, last->time_ms, last->value)) {
      last = Point{s.time_ms, s.value};
    }
  }
  GroupPoints out;
  if (last.has_value()) {
    out.points.push_back(*last);
    out.rank = last->value;
  }
  return out;
}

}  // namespace steward::collector::tsdb

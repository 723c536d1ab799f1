#include "collector/tsdb/query/bucket_grid.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

namespace steward::collector::tsdb {
namespace {

using Wide = __int128;

constexpr Wide kMinTime = std::numeric_limits<int64_t>::min();
constexpr Wide kMaxTime = std::numeric_limits<int64_t>::max();

Wide WideFloorDiv(Wide a, Wide b) {
  Wide q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

}  // namespace

int64_t FloorDiv(int64_t a, int64_t b) { return static_cast<int64_t>(WideFloorDiv(a, b)); }

BucketGrid::BucketGrid(int64_t start_ms, int64_t end_ms, int64_t step_ms)
    : start_ms_(start_ms), end_ms_(end_ms), step_ms_(step_ms) {}

uint64_t BucketGrid::BucketCount() const {
  if (step_ms_ == 0) return 1;
  Wide n = WideFloorDiv(end_ms_, step_ms_) - WideFloorDiv(start_ms_, step_ms_) + 1;
  if (n > static_cast<Wide>(std::numeric_limits<uint64_t>::max())) {
    return std::numeric_limits<uint64_t>::max();
  }
  return static_cast<uint64_t>(n);
}

int64_t BucketGrid::BucketTime(int64_t time_ms) const {
  if (step_ms_ == 0) return start_ms_;
  Wide b = WideFloorDiv(time_ms, step_ms_) * step_ms_;
  return static_cast<int64_t>(b < kMinTime ? kMinTime : b);
}

int64_t BucketGrid::BucketLast(int64_t time_ms) const {
  if (step_ms_ == 0) return end_ms_;
  Wide last = WideFloorDiv(time_ms, step_ms_) * step_ms_ + step_ms_ - 1;
  constexpr Wide kMax = std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(last > kMax ? kMax : last);
}

double BucketGrid::CoveredSeconds(int64_t bucket_ms) const {
  const Wide range_end = Wide{end_ms_} + 1;  // exclusive
  if (step_ms_ == 0) return static_cast<double>(range_end - start_ms_) / 1000.0;
  const Wide from = std::max<Wide>(bucket_ms, start_ms_);
  const Wide to = std::min<Wide>(Wide{bucket_ms} + step_ms_, range_end);
  return static_cast<double>(to - from) / 1000.0;
}

std::optional<RollupPlan> PlanRollups(const BucketGrid& grid, int64_t resolution_ms) {
  const Wide r = resolution_ms;
  const Wide start = grid.start_ms();
  const Wide end = grid.end_ms();
  // Whole rollup buckets: starts in [first, last], last + r - 1 <= end.
  Wide first = -WideFloorDiv(-start, r) * r;  // ceil(start / r) * r
  Wide last = WideFloorDiv(end + 1, r) * r - r;
  if (first > last || first > kMaxTime || last < kMinTime) return std::nullopt;
  RollupPlan plan;
  plan.resolution_ms = resolution_ms;
  plan.rollup_first_ms = static_cast<int64_t>(first);
  plan.rollup_last_ms = static_cast<int64_t>(last);
  if (first > start) {
    plan.raw_head = RollupPlan::Span{grid.start_ms(), static_cast<int64_t>(first - 1)};
  }
  if (last + r - 1 < end) {
    plan.raw_tail = RollupPlan::Span{static_cast<int64_t>(last + r), grid.end_ms()};
  }
  return plan;
}

}  // namespace steward::collector::tsdb

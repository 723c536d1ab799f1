#pragma once
// Time arithmetic of a query: which bucket a sample falls in, how many
// buckets a range has, and which part of a range rollups can serve. All of
// it is exact over the whole int64 range (intermediate values in 128 bits).

#include <cstdint>
#include <optional>

namespace steward::collector::tsdb {

// floor(a / b) for b > 0, also for negative a.
int64_t FloorDiv(int64_t a, int64_t b);

// The buckets of one query over [start_ms, end_ms] (inclusive): with
// step_ms > 0, [b, b + step_ms) for b a multiple of step_ms, else one bucket
// that is the whole range. Immutable value type; requires start_ms <= end_ms
// and step_ms >= 0.
class BucketGrid {
 public:
  BucketGrid(int64_t start_ms, int64_t end_ms, int64_t step_ms);

  int64_t start_ms() const { return start_ms_; }
  int64_t end_ms() const { return end_ms_; }
  int64_t step_ms() const { return step_ms_; }

  // How many buckets meet the range (at least 1; saturates at UINT64_MAX).
  uint64_t BucketCount() const;

  // The time of the bucket holding `time_ms` (a time in the range): its
  // start, clamped to the int64 range (only the first bucket of a range that
  // starts within one step of INT64_MIN can begin before it), or start_ms
  // when step_ms == 0.
  int64_t BucketTime(int64_t time_ms) const;
  // The last millisecond of the bucket holding `time_ms` (clamped to
  // INT64_MAX; end_ms when step_ms == 0): later times of ascending samples
  // up to it share its BucketTime.
  int64_t BucketLast(int64_t time_ms) const;

  // The time the bucket starting at `bucket_ms` (a BucketTime) covers within
  // the range, in seconds, for rates: step_ms for a bucket wholly inside
  // the range, less for the partial first and last buckets (the part of
  // [bucket_ms, bucket_ms + step_ms) within [start_ms, end_ms], end_ms
  // counted as a whole millisecond), and the range's width
  // (end_ms - start_ms + 1 ms) when step_ms == 0.
  double CoveredSeconds(int64_t bucket_ms) const;

 private:
  int64_t start_ms_;
  int64_t end_ms_;
  int64_t step_ms_;
};

// How a range is read when rollups serve it: rollup buckets of
// `resolution_ms` starting in [rollup_first_ms, rollup_last_ms] lie wholly
// inside the range; raw samples cover the edges before and after them
// (each edge absent when empty).
struct RollupPlan {
  struct Span {
    int64_t start_ms;
    int64_t end_ms;  // inclusive
  };
  int64_t resolution_ms = 0;
  int64_t rollup_first_ms = 0;
  int64_t rollup_last_ms = 0;
  std::optional<Span> raw_head;
  std::optional<Span> raw_tail;
};

// The plan for `grid` with rollups of `resolution_ms`, or nullopt when no
// whole rollup bucket fits in the range. Rollup buckets never straddle a
// grid bucket when resolution_ms divides the step (or the step is 0).
std::optional<RollupPlan> PlanRollups(const BucketGrid& grid, int64_t resolution_ms);

}  // namespace steward::collector::tsdb

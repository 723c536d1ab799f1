#pragma once
// Checks a QueryRequest before the engine reads anything.

#include "absl/status/status.h"
#include "collector/tsdb/query/query.h"

namespace steward::collector::tsdb {

// OK, or InvalidArgument naming the offending field and why: no metric (an
// empty one and no `__name__` matcher with = or =~), end_ms < start_ms, a
// negative step, an unknown aggregation, a grid of more than max_buckets
// buckets, non-positive limits, a negative top_k, and the combinations
// query.h rules out (by_series with group_by, a filter with rate/increase,
// step/group_by/top_k with raw points, last_point with an aggregation, a
// step or group_by). Whether rate and increase meet counters is known only
// after Select; the engine checks it.
absl::Status ValidateQuery(const QueryRequest& request);

}  // namespace steward::collector::tsdb

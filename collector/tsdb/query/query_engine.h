#pragma once
// The TSDB query engine: answers QueryRequests (query.h, which defines what
// every field means) from any SeriesSource.

#include <cstddef>

#include "absl/status/statusor.h"
#include "collector/tsdb/query/query.h"
#include "collector/tsdb/series_source.h"

namespace steward::collector::tsdb {

// Runs queries against one SeriesSource, which it does not own and which
// must outlive it. Keeps no state between queries; Run is as thread-safe as
// the source's reads are, since each call uses only its own locals.
//
// With QueryThreads::max > 1 and a source that gives per-query views
// (SeriesSource::ForOneQuery), a query selecting at least twice
// QueryThreads::min_series series runs on up to max threads (the caller's
// and new ones), each with its own view, over about equal shares of the
// series; a group too large for one share (mergeable aggregations) is
// accumulated in parts and merged. Results are the same as on one thread,
// up to the summation order of sum and avg.
struct QueryThreads {
  int max = 1;
  size_t min_series = 256;  // per thread
};

class QueryEngine {
 public:
  explicit QueryEngine(SeriesSource* source, QueryThreads threads = {})
      : source_(source), threads_(threads) {}

  // The result of `request`, or: InvalidArgument naming the field for a
  // malformed request (query_validation.h) or for rate/increase over a
  // series that is not a counter; ResourceExhausted when max_series or
  // max_points is exceeded; the source's errors otherwise.
  absl::StatusOr<QueryResult> Run(const QueryRequest& request);

 private:
  SeriesSource* source_;
  QueryThreads threads_;
};

}  // namespace steward::collector::tsdb

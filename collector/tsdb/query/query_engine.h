#pragma once
// The TSDB query engine: answers QueryRequests (query.h, which defines what
// every field means) from any SeriesSource.

#include <cstddef>
#include <memory>
#include <vector>

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

// A request whose series are selected but not yet read (QueryEngine::
// Prepare): lets a caller decide by the size of the selection where the rest
// runs. Movable between threads, not shared.
class PreparedQuery {
 public:
  const QueryRequest& request() const { return request_; }
  size_t series_count() const { return series_.size(); }

 private:
  friend class QueryEngine;
  QueryRequest request_;
  std::unique_ptr<SeriesSource> view_;  // null for a source without views
  std::vector<SeriesRef> series_;
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

  // Run in two steps: Prepare validates the request and selects its series
  // (at one view of the source), Run(PreparedQuery) reads and evaluates
  // them, on any thread. Same errors as Run(request), each from the step
  // that finds it.
  absl::StatusOr<PreparedQuery> Prepare(QueryRequest request);
  absl::StatusOr<QueryResult> Run(PreparedQuery query);

 private:
  SeriesSource* source_;
  QueryThreads threads_;
};

}  // namespace steward::collector::tsdb

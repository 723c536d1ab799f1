#pragma once
// The TSDB query engine: answers QueryRequests (query.h, which defines what
// every field means) from any SeriesSource.

#include "absl/status/statusor.h"
#include "collector/tsdb/query/query.h"
#include "collector/tsdb/series_source.h"

namespace steward::collector::tsdb {

// Runs queries against one SeriesSource, which it does not own and which
// must outlive it. Keeps no state between queries; Run is as thread-safe as
// the source's reads are, since each call uses only its own locals.
class QueryEngine {
 public:
  explicit QueryEngine(SeriesSource* source) : source_(source) {}

  // The result of `request`, or: InvalidArgument naming the field for a
  // malformed request (query_validation.h) or for rate/increase over a
  // series that is not a counter; ResourceExhausted when max_series or
  // max_points is exceeded; the source's errors otherwise.
  absl::StatusOr<QueryResult> Run(const QueryRequest& request);

 private:
  SeriesSource* source_;
};

}  // namespace steward::collector::tsdb

#pragma once
// The query engine's oracle: evaluates a valid QueryRequest over a
// MemorySeriesSource's raw samples in the most direct way, bucket by bucket,
// with none of the engine's code (no accumulators, no rollups, no maps of
// buckets). Slow on purpose; for small random data sets.

#include "collector/tsdb/query/query.h"
#include "tests/collector/tsdb/memory_series_source.h"

namespace steward::collector::tsdb::query_test {

// The result query.h defines for `request`, which must be valid (the engine
// would accept it) and select no more series, and return no more points,
// than its limits allow.
QueryResult BruteForceQuery(MemorySeriesSource& source, const QueryRequest& request);

}  // namespace steward::collector::tsdb::query_test

#pragma once
// Comparing query results in tests, with a printable form for failures.

#include <cstdint>
#include <string>

#include "collector/tsdb/query/query.h"
#include "gtest/gtest.h"

namespace steward::collector::tsdb::query_test {

// A request for `agg` of `metric` over [start_ms, end_ms] in buckets of
// `step_ms`, every other field at its default.
QueryRequest MakeRequest(const std::string& metric, Aggregation agg, int64_t start_ms,
                         int64_t end_ms, int64_t step_ms);

// `cpu{host="a"} [0:1.5 300000:2]; cpu{host="b"} []` — a result in one
// line, each group's metric before its labels.
std::string Describe(const QueryResult& result);

// The request in one line, for SCOPED_TRACE.
std::string Describe(const QueryRequest& request);

// Whether `actual` equals `expected`: same groups in the same order, same
// metrics and labels, same point times; values equal, except for sum, avg, rate and
// increase where they may differ by summation order (a relative 1e-9).
::testing::AssertionResult SameResult(const QueryResult& actual, const QueryResult& expected,
                                      Aggregation agg);

}  // namespace steward::collector::tsdb::query_test

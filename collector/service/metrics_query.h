#pragma once
// The admin API's metric queries and the agents' metric batches in the
// TSDB's terms: QueryMetricsRequest -> tsdb::QueryRequest, QueryResult ->
// QueryMetricsResponse, MetricBatch -> tsdb::IngestSeries. Pure functions,
// thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/tsdb/query/query.h"
#include "collector/tsdb/tsdb_store.h"
#include "steward/v1/admin.pb.h"
#include "steward/v1/agent.pb.h"

namespace steward::collector {

// The label the collector adds to every series an agent sends.
inline constexpr char kAgentLabel[] = "agent";

// The request in the engine's terms; `now_ms` stands for end_ms = 0. An
// agent_id becomes the matcher agent="ID". InvalidArgument naming the field
// for a bad agg, value_filter or matcher.
absl::StatusOr<tsdb::QueryRequest> ToQueryRequest(const v1::QueryMetricsRequest& req, int64_t now_ms);

// The result as the admin API returns it. A query of one host
// (`one_agent`) leaves the `agent` label out of the series' labels: the
// host is implied. Raw series (agg none) keep their counter flag.
void ToQueryResponse(const tsdb::QueryRequest& query, tsdb::QueryResult result, bool one_agent,
                     v1::QueryMetricsResponse* resp);

// An agent's batch as TSDB series, each labelled agent=<agent_id>.
std::vector<tsdb::IngestSeries> ToIngestSeries(const std::string& agent_id, const v1::MetricBatch& batch);

}  // namespace steward::collector

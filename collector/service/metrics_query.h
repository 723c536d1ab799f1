#pragma once
// The admin API's metric queries and the agents' metric batches in the
// TSDB's terms: QueryMetricsRequest -> tsdb::QueryRequest, QueryResult ->
// QueryMetricsResponse, MetricBatch -> tsdb::IngestSeriesView (IngestBatch).
// Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/tsdb/query/query.h"
#include "collector/tsdb/tsdb_store.h"
#include "common/metrics/series_columns.h"
#include "steward/v1/admin.pb.h"
#include "steward/v1/agent.pb.h"

namespace steward::collector {

// The label the collector adds to every series an agent sends.
inline constexpr char kAgentLabel[] = "agent";

// The request in the engine's terms; `now_ms` stands for end_ms = 0. An
// agent_id becomes the matcher agent="ID"; `match` and `matchers` may name
// `__name__` (the metric name), and `metric` may then be empty (the engine
// checks that something names the metrics). InvalidArgument naming the
// field for a bad agg, value_filter or matcher.
absl::StatusOr<tsdb::QueryRequest> ToQueryRequest(const v1::QueryMetricsRequest& req, int64_t now_ms);

// The result as the admin API returns it: each series named by its group's
// metric (ResultGroup::metric: the series' own for raw points and last
// points, the group's with group_by `__name__`, else the request's metric,
// which may be empty). A query of one host (`one_agent`) leaves the `agent`
// label out of the series' labels: the host is implied. Raw series (agg
// none) keep their counter flag.
void ToQueryResponse(const tsdb::QueryRequest& query, tsdb::QueryResult result, bool one_agent,
                     v1::QueryMetricsResponse* resp);

// An agent's batch as TSDB series, each labelled agent=<agent_id> (the
// collector's label replaces any `agent` label the agent sent, so an agent
// cannot pose as another). Both forms of the batch: the plain series, then
// the columns, already decoded and checked by ValidateEnvelope.
//
// Keep one per session and reuse it: after the first batches it allocates
// nothing, and it remembers the series ids of the last batch's columns. An
// agent sends the same series batch after batch, with the same symbols in
// the same order; a series whose symbols and column entries equal the last
// batch's then goes to the TSDB with its id, and its labels are not looked
// up again. Anything different takes the full path.
class IngestBatch {
 public:
  // The views point into `batch`, `columns` and this object.
  void Build(const std::string& agent_id, const v1::MetricBatch& batch,
             const metrics::DecodedColumns& columns);
  absl::Span<const tsdb::IngestSeriesView> views() const { return views_; }
  // After TsdbStore::Append(views(), ..., &ids) succeeded.
  void Remember(const v1::MetricBatch& batch, const metrics::DecodedColumns& columns,
                const std::vector<uint64_t>& ids);

 private:
  std::vector<tsdb::LabelView> labels_;
  std::vector<tsdb::Sample> samples_;
  std::vector<tsdb::IngestSeriesView> views_;
  // The last remembered batch's columns: symbols, each series' column
  // entries (metric and labels; offsets has one more entry than ids) and ids.
  std::vector<std::string> known_symbols_;
  std::vector<uint32_t> known_columns_;
  std::vector<uint32_t> known_offsets_;
  std::vector<uint64_t> known_ids_;
  bool same_symbols_ = false;
  size_t known_hits_ = 0;  // column series of the last Build that had an id
};

}  // namespace steward::collector

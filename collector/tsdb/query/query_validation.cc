#include "collector/tsdb/query/query_validation.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "collector/tsdb/query/bucket_grid.h"
#include "common/status_macros.h"

namespace steward::collector::tsdb {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", reason));
}

absl::Status ValidateLimits(const QueryRequest& r) {
  const struct {
    absl::string_view name;
    int64_t value;
  } limits[] = {
      {"max_series", r.max_series}, {"max_points", r.max_points}, {"max_buckets", r.max_buckets}};
  for (const auto& limit : limits) {
    if (limit.value <= 0) {
      return Invalid(limit.name, absl::StrCat("must be positive, got ", limit.value));
    }
  }
  if (r.top_k < 0) return Invalid("top_k", absl::StrCat("must not be negative, got ", r.top_k));
  return absl::OkStatus();
}

// The fields that only some modes take.
absl::Status ValidateMode(const QueryRequest& r) {
  const absl::string_view agg = AggregationName(r.agg);
  if (r.by_series && !r.group_by.empty()) {
    return Invalid("group_by", "give label names or by_series, not both");
  }
  for (const std::string& name : r.group_by) {
    if (name.empty()) return Invalid("group_by", "empty label name");
  }
  if (r.filter.has_value() && (r.agg == Aggregation::kRate || r.agg == Aggregation::kIncrease)) {
    return Invalid("filter", absl::StrCat("a value filter does not apply to ", agg,
                                          " (a filtered counter has no meaning)"));
  }
  if (r.last_point) {
    if (r.agg != Aggregation::kNone) {
      return Invalid("agg", absl::StrCat("last_point takes no aggregation, got ", agg));
    }
    if (r.step_ms != 0) return Invalid("step_ms", "last_point takes no step");
    if (!r.group_by.empty()) return Invalid("group_by", "last_point is per series");
    return absl::OkStatus();
  }
  if (r.agg == Aggregation::kNone) {
    if (r.step_ms != 0) return Invalid("step_ms", "raw points (agg none) take no step");
    if (!r.group_by.empty()) return Invalid("group_by", "raw points (agg none) are per series");
    if (r.top_k != 0) return Invalid("top_k", "raw points (agg none) have no aggregate to rank");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateQuery(const QueryRequest& r) {
  if (r.metric.empty() && !NamesMetrics(r.matchers)) {
    return Invalid("metric", absl::StrCat("empty, and no ", kMetricNameLabel,
                                          " matcher with = or =~ names the metrics (e.g. ",
                                          kMetricNameLabel, "=~\"cpu_.*\")"));
  }
  if (r.end_ms < r.start_ms) {
    return Invalid("end_ms", absl::StrCat(r.end_ms, " is before start_ms ", r.start_ms));
  }
  if (r.step_ms < 0)
    return Invalid("step_ms", absl::StrCat("must not be negative, got ", r.step_ms));
  if (AggregationName(r.agg) == "unknown") {
    return Invalid("agg", absl::StrCat("unknown aggregation ", static_cast<int>(r.agg)));
  }
  RETURN_IF_ERROR(ValidateLimits(r));
  RETURN_IF_ERROR(ValidateMode(r));
  uint64_t buckets = BucketGrid(r.start_ms, r.end_ms, r.step_ms).BucketCount();
  if (buckets > static_cast<uint64_t>(r.max_buckets)) {
    return Invalid("step_ms", absl::StrCat(r.step_ms, " ms over [", r.start_ms, ", ", r.end_ms,
                                           "] makes ", buckets, " buckets, above the limit of ",
                                           r.max_buckets, "; use a larger step"));
  }
  return absl::OkStatus();
}

}  // namespace steward::collector::tsdb

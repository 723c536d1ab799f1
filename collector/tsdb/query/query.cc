#include "collector/tsdb/query/query.h"

#include <array>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace steward::collector::tsdb {
namespace {

constexpr std::array<std::pair<Aggregation, absl::string_view>, 12> kNames = {{
    {Aggregation::kNone, "none"},
    {Aggregation::kAvg, "avg"},
    {Aggregation::kMin, "min"},
    {Aggregation::kMax, "max"},
    {Aggregation::kSum, "sum"},
    {Aggregation::kCount, "count"},
    {Aggregation::kLast, "last"},
    {Aggregation::kP50, "p50"},
    {Aggregation::kP90, "p90"},
    {Aggregation::kP99, "p99"},
    {Aggregation::kRate, "rate"},
    {Aggregation::kIncrease, "increase"},
}};

}  // namespace

absl::string_view AggregationName(Aggregation agg) {
  for (const auto& [value, name] : kNames) {
    if (value == agg) return name;
  }
  return "unknown";
}

absl::StatusOr<Aggregation> ParseAggregation(absl::string_view name) {
  for (const auto& [value, known] : kNames) {
    if (known == name) return value;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("agg: unknown aggregation '", name,
                   "'; expected one of none avg min max sum count last p50 p90 p99 rate increase"));
}

}  // namespace steward::collector::tsdb

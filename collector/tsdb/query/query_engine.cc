#include "collector/tsdb/query/query_engine.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/tsdb/query/group_evaluator.h"
#include "collector/tsdb/query/query_validation.h"
#include "common/status_macros.h"

namespace steward::collector::tsdb {
namespace {

// A group's identity: its metric (ResultGroup::metric) and its labels.
using GroupKey = std::pair<std::string, Labels>;
using GroupMap = std::map<GroupKey, std::vector<const SeriesRef*>>;

// A group with its points, on its way into the result.
struct EvaluatedGroup {
  GroupKey key;
  GroupPoints points;
  bool counter = false;
};

// `cpu{host="a",mode="idle"}`, for messages.
std::string DescribeSeries(const SeriesRef& s) {
  return absl::StrCat(s.metric, "{",
                      absl::StrJoin(s.labels, ",",
                                    [](std::string* out, const auto& label) {
                                      absl::StrAppend(out, label.first, "=\"", label.second, "\"");
                                    }),
                      "}");
}

absl::Status CheckSelection(const QueryRequest& request, const std::vector<SeriesRef>& series) {
  if (static_cast<int64_t>(series.size()) > request.max_series) {
    return absl::ResourceExhaustedError(
        absl::StrCat("query selects ", series.size(), " series, above the limit of ",
                     request.max_series, "; narrow it with label matchers"));
  }
  if (request.agg != Aggregation::kRate && request.agg != Aggregation::kIncrease) {
    return absl::OkStatus();
  }
  for (const SeriesRef& s : series) {
    if (!s.counter) {
      return absl::InvalidArgumentError(
          absl::StrCat("agg: ", AggregationName(request.agg), " applies to counters only, and ",
                       DescribeSeries(s), " is not one; use a gauge aggregation or a matcher"));
    }
  }
  return absl::OkStatus();
}

absl::Status TooManyPoints(int64_t points, int64_t limit) {
  return absl::ResourceExhaustedError(
      absl::StrCat("query returns at least ", points, " points, above the limit of ", limit,
                   "; use a larger step, a shorter range, fewer groups or top_k"));
}

// The group of `series` under the request's grouping: `names` are the
// group_by label names, sorted, unique, without kMetricNameLabel, which
// `by_metric` stands for.
GroupKey GroupOf(const QueryRequest& request, const std::vector<std::string>& names, bool by_metric,
                 const SeriesRef& series) {
  if (request.by_series || request.last_point || request.agg == Aggregation::kNone) {
    return {series.metric, series.labels};
  }
  GroupKey key{by_metric ? series.metric : request.metric, {}};
  Labels& labels = key.second;
  for (const std::string& name : names) {
    auto it =
        std::lower_bound(series.labels.begin(), series.labels.end(), name,
                         [](const auto& label, const std::string& n) { return label.first < n; });
    if (it != series.labels.end() && it->first == name) labels.push_back(*it);
  }
  return key;
}

GroupMap GroupSeries(const QueryRequest& request, const std::vector<SeriesRef>& series) {
  std::vector<std::string> names = request.group_by;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const auto metric_name = std::find(names.begin(), names.end(), kMetricNameLabel);
  const bool by_metric = metric_name != names.end();
  if (by_metric) names.erase(metric_name);
  GroupMap groups;
  for (const SeriesRef& s : series) groups[GroupOf(request, names, by_metric, s)].push_back(&s);
  return groups;
}

// Highest rank first, NaN last, ties by metric then labels ascending.
bool RanksBefore(const EvaluatedGroup& a, const EvaluatedGroup& b) {
  double x = a.points.rank;
  double y = b.points.rank;
  if (std::isnan(x) != std::isnan(y)) return std::isnan(y);
  if (!std::isnan(x) && x != y) return x > y;
  return a.key < b.key;
}

void KeepTop(std::vector<EvaluatedGroup>& groups, size_t k) {
  if (groups.size() > k) {
    std::partial_sort(groups.begin(), groups.begin() + static_cast<ptrdiff_t>(k), groups.end(),
                      RanksBefore);
    groups.resize(k);
  } else {
    std::sort(groups.begin(), groups.end(), RanksBefore);
  }
}

}  // namespace

absl::StatusOr<QueryResult> QueryEngine::Run(const QueryRequest& request) {
  RETURN_IF_ERROR(ValidateQuery(request));
  // One view for the whole query: a store can read every series at one
  // snapshot with shared iterators.
  std::unique_ptr<SeriesSource> view = source_->ForOneQuery();
  SeriesSource* source = view != nullptr ? view.get() : source_;
  ASSIGN_OR_RETURN(std::vector<SeriesRef> series,
                   source->Select(request.metric, request.matchers));
  RETURN_IF_ERROR(CheckSelection(request, series));

  GroupEvaluator evaluator(source, request);
  const size_t k = static_cast<size_t>(request.top_k);
  std::vector<EvaluatedGroup> kept;
  int64_t points = 0;
  for (auto& [key, members] : GroupSeries(request, series)) {
    ASSIGN_OR_RETURN(GroupPoints group, evaluator.Evaluate(members));
    if (group.points.empty()) continue;
    if (k == 0) {
      // Groups come in label order and all are kept: fail as soon as the
      // result is known to be too large.
      points += static_cast<int64_t>(group.points.size());
      if (points > request.max_points) return TooManyPoints(points, request.max_points);
    }
    const bool counter = std::all_of(members.begin(), members.end(),
                                     [](const SeriesRef* s) { return s->counter; });
    kept.push_back({key, std::move(group), counter});
    if (k > 0 && kept.size() >= 2 * k) KeepTop(kept, k);
  }
  if (k > 0) {
    KeepTop(kept, k);
    for (const EvaluatedGroup& g : kept) points += static_cast<int64_t>(g.points.points.size());
    if (points > request.max_points) return TooManyPoints(points, request.max_points);
  }

  QueryResult result;
  result.groups.reserve(kept.size());
  for (EvaluatedGroup& g : kept) {
    result.groups.push_back(
        {std::move(g.key.second), std::move(g.points.points), g.counter, std::move(g.key.first)});
  }
  return result;
}

}  // namespace steward::collector::tsdb

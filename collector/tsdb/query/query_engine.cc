#include "collector/tsdb/query/query_engine.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <tuple>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/tsdb/query/bucket_accumulator.h"
#include "collector/tsdb/query/group_evaluator.h"
#include "collector/tsdb/query/query_validation.h"
#include "common/status_macros.h"

namespace steward::collector::tsdb {
namespace {

// A group's identity: its metric (ResultGroup::metric) and its labels.
using GroupKey = std::pair<std::string, Labels>;
// Groups with their member series, ascending by key.
using GroupList = std::vector<std::pair<GroupKey, std::vector<const SeriesRef*>>>;

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

// Takes the metric names and labels out of `series` when each series is a
// group of its own (nothing reads them after grouping).
GroupList GroupSeries(const QueryRequest& request, std::vector<SeriesRef>& series) {
  GroupList groups;
  if (request.by_series || request.last_point || request.agg == Aggregation::kNone) {
    std::vector<SeriesRef*> order;
    order.reserve(series.size());
    for (SeriesRef& s : series) order.push_back(&s);
    std::sort(order.begin(), order.end(), [](const SeriesRef* a, const SeriesRef* b) {
      return std::tie(a->metric, a->labels) < std::tie(b->metric, b->labels);
    });
    groups.reserve(order.size());
    for (SeriesRef* s : order) {
      groups.emplace_back(GroupKey{std::move(s->metric), std::move(s->labels)}, std::vector<const SeriesRef*>{s});
    }
    return groups;
  }
  std::vector<std::string> names = request.group_by;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const auto metric_name = std::find(names.begin(), names.end(), kMetricNameLabel);
  const bool by_metric = metric_name != names.end();
  if (by_metric) names.erase(metric_name);
  std::map<GroupKey, std::vector<const SeriesRef*>> by_key;
  for (const SeriesRef& s : series) by_key[GroupOf(request, names, by_metric, s)].push_back(&s);
  groups.reserve(by_key.size());
  while (!by_key.empty()) {
    auto node = by_key.extract(by_key.begin());
    groups.emplace_back(std::move(node.key()), std::move(node.mapped()));
  }
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

// A part of the work of a query: the series [begin, end) of one group's
// members; a group in several parts is accumulated per part and merged
// (mergeable aggregations only).
struct Task {
  Task(GroupList::value_type* g, size_t b, size_t e, bool w) : group(g), begin(b), end(e), whole(w) {}
  GroupList::value_type* group;
  size_t begin, end;
  bool whole;
  // Results, filled by the shard that runs the task.
  GroupPoints points;                // whole
  GroupEvaluator::Buckets buckets;  // a part
};

// Splits the groups into tasks for `shards` shards of about equal series
// counts (groups larger than a shard in parts, when they can be merged);
// returns where each shard's tasks start.
std::vector<size_t> PlanTasks(const QueryRequest& request, GroupList& groups, size_t series,
                              size_t shards, std::vector<Task>* tasks) {
  const size_t per_shard = (series + shards - 1) / shards;
  const bool splittable = IsMergeable(request.agg) && !request.last_point;
  for (auto& group : groups) {
    const size_t n = group.second.size();
    if (!splittable || n <= per_shard || shards == 1) {
      tasks->emplace_back(&group, 0, n, true);
      continue;
    }
    for (size_t begin = 0; begin < n; begin += per_shard) {
      tasks->emplace_back(&group, begin, std::min(n, begin + per_shard), false);
    }
  }
  // Contiguous runs of tasks, cut when a shard has its share of series.
  std::vector<size_t> starts = {0};
  size_t in_shard = 0;
  for (size_t i = 0; i < tasks->size(); ++i) {
    if (in_shard >= per_shard && starts.size() < shards) {
      starts.push_back(i);
      in_shard = 0;
    }
    in_shard += (*tasks)[i].end - (*tasks)[i].begin;
  }
  starts.push_back(tasks->size());
  return starts;
}

// Runs tasks [begin, end) with its own evaluator on `source`. Without
// top_k, fails as soon as its own groups exceed max_points.
absl::Status RunTasks(SeriesSource* source, const QueryRequest& request, std::vector<Task>& tasks,
                      size_t begin, size_t end) {
  GroupEvaluator evaluator(source, request);
  int64_t points = 0;
  for (size_t i = begin; i < end; ++i) {
    Task& t = tasks[i];
    const std::vector<const SeriesRef*>& members = t.group->second;
    if (t.whole) {
      ASSIGN_OR_RETURN(t.points, evaluator.Evaluate(members));
      points += static_cast<int64_t>(t.points.points.size());
      if (request.top_k == 0 && points > request.max_points) {
        return TooManyPoints(points, request.max_points);
      }
    } else {
      std::vector<const SeriesRef*> part(members.begin() + static_cast<ptrdiff_t>(t.begin),
                                         members.begin() + static_cast<ptrdiff_t>(t.end));
      ASSIGN_OR_RETURN(t.buckets, evaluator.Accumulate(part));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<QueryResult> QueryEngine::Run(const QueryRequest& request) {
  ASSIGN_OR_RETURN(PreparedQuery prepared, Prepare(request));
  return Run(std::move(prepared));
}

absl::StatusOr<PreparedQuery> QueryEngine::Prepare(QueryRequest request) {
  RETURN_IF_ERROR(ValidateQuery(request));
  PreparedQuery prepared;
  // One view for the whole query: a store can read every series at one
  // snapshot with shared iterators.
  prepared.view_ = source_->ForOneQuery();
  SeriesSource* source = prepared.view_ != nullptr ? prepared.view_.get() : source_;
  ASSIGN_OR_RETURN(prepared.series_, source->Select(request.metric, request.matchers));
  RETURN_IF_ERROR(CheckSelection(request, prepared.series_));
  prepared.request_ = std::move(request);
  return prepared;
}

absl::StatusOr<QueryResult> QueryEngine::Run(PreparedQuery query) {
  const QueryRequest& request = query.request_;
  std::vector<SeriesRef>& series = query.series_;
  std::unique_ptr<SeriesSource> view = std::move(query.view_);
  SeriesSource* source = view != nullptr ? view.get() : source_;
  GroupList groups = GroupSeries(request, series);

  // Large selections run in shards on threads of their own, each with its
  // own view (series are independent; only sources with views can: their
  // reads are thread-safe).
  size_t shards = 1;
  if (view != nullptr && threads_.max > 1) {
    shards = std::min(static_cast<size_t>(threads_.max),
                      series.size() / std::max<size_t>(threads_.min_series, 1));
    shards = std::max<size_t>(shards, 1);
  }
  std::vector<Task> tasks;
  const std::vector<size_t> starts = PlanTasks(request, groups, series.size(), shards, &tasks);
  const size_t used = starts.size() - 1;
  std::vector<absl::Status> statuses(used);
  {
    std::vector<std::thread> threads;
    for (size_t s = 1; s < used; ++s) {
      threads.emplace_back([&, s] {
        std::unique_ptr<SeriesSource> own = source_->ForOneQuery();
        statuses[s] = RunTasks(own.get(), request, tasks, starts[s], starts[s + 1]);
      });
    }
    statuses[0] = RunTasks(source, request, tasks, starts[0], starts[1]);
    for (std::thread& t : threads) t.join();
  }
  for (const absl::Status& status : statuses) RETURN_IF_ERROR(status);

  const size_t k = static_cast<size_t>(request.top_k);
  std::vector<EvaluatedGroup> kept;
  int64_t points = 0;
  for (size_t i = 0; i < tasks.size();) {
    GroupList::value_type* group = tasks[i].group;
    GroupPoints evaluated;
    if (tasks[i].whole) {
      evaluated = std::move(tasks[i].points);
      ++i;
    } else {
      GroupEvaluator::Buckets merged = std::move(tasks[i].buckets);
      for (++i; i < tasks.size() && tasks[i].group == group; ++i) {
        GroupEvaluator::Merge(tasks[i].buckets, &merged);
      }
      evaluated = GroupEvaluator::PointsOf(merged, request);
    }
    if (evaluated.points.empty()) continue;
    if (k == 0) {
      // Groups come in label order and all are kept: fail as soon as the
      // result is known to be too large.
      points += static_cast<int64_t>(evaluated.points.size());
      if (points > request.max_points) return TooManyPoints(points, request.max_points);
    }
    const std::vector<const SeriesRef*>& members = group->second;
    const bool counter = std::all_of(members.begin(), members.end(),
                                     [](const SeriesRef* s) { return s->counter; });
    kept.push_back({std::move(group->first), std::move(evaluated), counter});
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

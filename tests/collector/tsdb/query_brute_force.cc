#include "tests/collector/tsdb/query_brute_force.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace steward::collector::tsdb::query_test {
namespace {

// One series of a group with its samples in the range that pass the filter.
struct Member {
  std::vector<Sample> samples;
};

struct Group {
  std::string metric;
  Labels labels;
  std::vector<Member> members;
  std::vector<Point> points;
  double rank = 0;
};

int64_t BucketOf(const QueryRequest& r, int64_t t) {
  if (r.step_ms == 0) return r.start_ms;
  __int128 rem = ((__int128{t} % r.step_ms) + r.step_ms) % r.step_ms;
  __int128 b = __int128{t} - rem;
  return b < INT64_MIN ? INT64_MIN : static_cast<int64_t>(b);
}

double Interpolate(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double h = (v.size() - 1) * q;
  size_t i = static_cast<size_t>(h);
  if (i == v.size() - 1) return v[i];
  return v[i] + (h - static_cast<double>(i)) * (v[i + 1] - v[i]);
}

// The aggregate of the group's samples with `in(time)` and its time (the
// latest such sample's for last, else `time`), or nullopt when there is
// none; `seconds` is the width rates divide by.
template <typename In>
std::optional<Point> Aggregate(const QueryRequest& r, const Group& g, In in, int64_t time, double seconds) {
  if (r.agg == Aggregation::kRate || r.agg == Aggregation::kIncrease) {
    bool any = false;
    double increase = 0;
    for (const Member& m : g.members) {
      for (size_t j = 1; j < m.samples.size(); ++j) {
        if (!in(m.samples[j].time_ms)) continue;
        any = true;
        double a = m.samples[j - 1].value;
        double b = m.samples[j].value;
        increase += b >= a ? b - a : b;
      }
    }
    if (!any) return std::nullopt;
    return Point{time, r.agg == Aggregation::kRate ? increase / seconds : increase};
  }
  std::vector<Sample> all;
  for (const Member& m : g.members) {
    for (const Sample& s : m.samples) {
      if (in(s.time_ms)) all.push_back(s);
    }
  }
  if (all.empty()) return std::nullopt;
  std::vector<double> values;
  for (const Sample& s : all) values.push_back(s.value);
  double sum = 0;
  for (double v : values) sum += v;
  auto at = [time](double v) { return std::optional<Point>(Point{time, v}); };
  switch (r.agg) {
    case Aggregation::kAvg:
      return at(sum / values.size());
    case Aggregation::kMin:
      return at(*std::min_element(values.begin(), values.end()));
    case Aggregation::kMax:
      return at(*std::max_element(values.begin(), values.end()));
    case Aggregation::kSum:
      return at(sum);
    case Aggregation::kCount:
      return at(static_cast<double>(values.size()));
    case Aggregation::kLast: {
      Sample best = all[0];
      for (const Sample& s : all) {
        if (s.time_ms > best.time_ms || (s.time_ms == best.time_ms && s.value > best.value)) {
          best = s;
        }
      }
      return Point{best.time_ms, best.value};
    }
    case Aggregation::kP50:
      return at(Interpolate(values, 0.5));
    case Aggregation::kP90:
      return at(Interpolate(values, 0.9));
    case Aggregation::kP99:
      return at(Interpolate(values, 0.99));
    default:
      return std::nullopt;
  }
}

void Evaluate(const QueryRequest& r, Group& g) {
  std::vector<Sample> all;
  for (const Member& m : g.members) all.insert(all.end(), m.samples.begin(), m.samples.end());
  if (r.last_point) {
    if (all.empty()) return;
    Sample best = all[0];
    for (const Sample& s : all) {
      if (s.time_ms > best.time_ms || (s.time_ms == best.time_ms && s.value > best.value)) best = s;
    }
    g.points.push_back({best.time_ms, best.value});
    g.rank = best.value;
    return;
  }
  if (r.agg == Aggregation::kNone) {
    std::stable_sort(all.begin(), all.end(),
                     [](const Sample& a, const Sample& b) { return a.time_ms < b.time_ms; });
    for (const Sample& s : all) g.points.push_back({s.time_ms, s.value});
    return;
  }
  std::set<int64_t> buckets;
  for (const Sample& s : all) buckets.insert(BucketOf(r, s.time_ms));
  double range_seconds = (static_cast<double>(r.end_ms) - r.start_ms + 1) / 1000.0;
  for (int64_t b : buckets) {
    auto in = [&](int64_t t) { return BucketOf(r, t) == b; };
    // The milliseconds of the bucket inside the range: from its first to
    // its last millisecond, both ends inclusive.
    double covered = range_seconds;
    if (r.step_ms > 0) {
      __int128 first = std::max<__int128>(b, r.start_ms);
      __int128 last = std::min<__int128>(__int128{b} + r.step_ms - 1, r.end_ms);
      covered = static_cast<double>(last - first + 1) / 1000.0;
    }
    if (std::optional<Point> p = Aggregate(r, g, in, b, covered)) g.points.push_back(*p);
  }
  auto whole = [](int64_t) { return true; };
  if (std::optional<Point> p = Aggregate(r, g, whole, r.start_ms, range_seconds)) g.rank = p->value;
}

}  // namespace

QueryResult BruteForceQuery(MemorySeriesSource& source, const QueryRequest& r) {
  std::set<std::string> names(r.group_by.begin(), r.group_by.end());
  bool per_series = r.by_series || r.last_point || r.agg == Aggregation::kNone;
  bool by_metric = names.count("__name__") > 0;
  std::vector<Group> groups;
  std::vector<SeriesRef> selected = source.Select(r.metric, r.matchers).value();
  for (const SeriesRef& ref : selected) {
    std::string metric = per_series || by_metric ? ref.metric : r.metric;
    Labels key;
    for (const auto& label : ref.labels) {
      if (per_series || (names.count(label.first) > 0 && label.first != "__name__")) {
        key.push_back(label);
      }
    }
    Member member;
    for (const Sample& s : source.series()[ref.id - 1].samples) {
      if (s.time_ms < r.start_ms || s.time_ms > r.end_ms) continue;
      if (r.filter.has_value() && !r.filter->Accepts(s.value)) continue;
      member.samples.push_back(s);
    }
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const Group& g) { return g.metric == metric && g.labels == key; });
    if (it == groups.end()) it = groups.insert(groups.end(), Group{metric, key, {}, {}, 0});
    it->members.push_back(std::move(member));
  }
  for (Group& g : groups) Evaluate(r, g);
  std::erase_if(groups, [](const Group& g) { return g.points.empty(); });
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return std::tie(a.metric, a.labels) < std::tie(b.metric, b.labels);
  });
  if (r.top_k > 0) {
    std::stable_sort(groups.begin(), groups.end(),
                     [](const Group& a, const Group& b) { return a.rank > b.rank; });
    if (groups.size() > static_cast<size_t>(r.top_k)) groups.resize(r.top_k);
  }
  QueryResult result;
  for (Group& g : groups) result.groups.push_back({g.labels, g.points, false, g.metric});
  return result;
}

}  // namespace steward::collector::tsdb::query_test

#include "tests/collector/tsdb/query_test_util.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace steward::collector::tsdb::query_test {
namespace {

std::string DescribeLabels(const Labels& labels) {
  return absl::StrCat("{",
                      absl::StrJoin(labels, ",",
                                    [](std::string* out, const auto& l) {
                                      absl::StrAppend(out, l.first, "=\"", l.second, "\"");
                                    }),
                      "}");
}

bool OrderMayDiffer(Aggregation agg) {
  return agg == Aggregation::kSum || agg == Aggregation::kAvg || agg == Aggregation::kRate ||
         agg == Aggregation::kIncrease;
}

bool SameValue(double a, double b, Aggregation agg) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;
  if (!OrderMayDiffer(agg)) return false;
  return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

}  // namespace

QueryRequest MakeRequest(const std::string& metric, Aggregation agg, int64_t start_ms,
                         int64_t end_ms, int64_t step_ms) {
  QueryRequest r;
  r.metric = metric;
  r.agg = agg;
  r.start_ms = start_ms;
  r.end_ms = end_ms;
  r.step_ms = step_ms;
  return r;
}

std::string Describe(const QueryResult& result) {
  std::string out;
  for (const ResultGroup& g : result.groups) {
    if (!out.empty()) out += "; ";
    absl::StrAppend(&out, g.metric, DescribeLabels(g.labels), " [",
                    absl::StrJoin(g.points, " ",
                                  [](std::string* s, const Point& p) {
                                    absl::StrAppend(s, p.time_ms, ":", p.value);
                                  }),
                    "]");
  }
  return out;
}

std::string Describe(const QueryRequest& r) {
  static constexpr const char* kOps[] = {"=", "!=", "=~", "!~"};
  static constexpr const char* kFilterOps[] = {">", ">=", "<", "<="};
  std::string out = absl::StrCat(AggregationName(r.agg), "(", r.metric, "{");
  for (const LabelMatcher& m : r.matchers) {
    absl::StrAppend(&out, m.name, kOps[static_cast<int>(m.op)], "\"", m.value, "\",");
  }
  absl::StrAppend(&out, "}) [", r.start_ms, ", ", r.end_ms, "] step ", r.step_ms, " by ",
                  r.by_series ? "series" : absl::StrJoin(r.group_by, ","), " top ", r.top_k,
                  r.last_point ? " last_point" : "");
  if (r.filter.has_value()) {
    absl::StrAppend(&out, " value", kFilterOps[static_cast<int>(r.filter->op)],
                    r.filter->threshold);
  }
  return out;
}

::testing::AssertionResult SameResult(const QueryResult& actual, const QueryResult& expected,
                                      Aggregation agg) {
  auto differ = [&](const std::string& what) {
    return ::testing::AssertionFailure() << what << "\n  actual:   " << Describe(actual)
                                         << "\n  expected: " << Describe(expected);
  };
  if (actual.groups.size() != expected.groups.size()) return differ("group counts differ");
  for (size_t i = 0; i < actual.groups.size(); ++i) {
    const ResultGroup& a = actual.groups[i];
    const ResultGroup& e = expected.groups[i];
    if (a.metric != e.metric) return differ(absl::StrCat("group ", i, ": metrics differ"));
    if (a.labels != e.labels) return differ(absl::StrCat("group ", i, ": labels differ"));
    if (a.points.size() != e.points.size()) {
      return differ(absl::StrCat("group ", i, ": point counts differ"));
    }
    for (size_t j = 0; j < a.points.size(); ++j) {
      if (a.points[j].time_ms != e.points[j].time_ms ||
          !SameValue(a.points[j].value, e.points[j].value, agg)) {
        return differ(absl::StrCat("group ", i, " point ", j, " differs"));
      }
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace steward::collector::tsdb::query_test

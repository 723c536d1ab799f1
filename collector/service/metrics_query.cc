#include "collector/service/metrics_query.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace steward::collector {
namespace {

absl::StatusOr<tsdb::ValueFilter> ParseValueFilter(absl::string_view text) {
  absl::string_view s = absl::StripAsciiWhitespace(text);
  tsdb::ValueFilter f;
  // Longest operators first.
  if (absl::ConsumePrefix(&s, ">=")) {
    f.op = tsdb::ValueFilter::Op::kGe;
  } else if (absl::ConsumePrefix(&s, "<=")) {
    f.op = tsdb::ValueFilter::Op::kLe;
  } else if (absl::ConsumePrefix(&s, ">")) {
    f.op = tsdb::ValueFilter::Op::kGt;
  } else if (absl::ConsumePrefix(&s, "<")) {
    f.op = tsdb::ValueFilter::Op::kLt;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "value_filter '", text, "' must start with >, >=, < or <= (e.g. '> 90')"));
  }
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(s), &f.threshold)) {
    return absl::InvalidArgumentError(
        absl::StrCat("value_filter '", text, "': '", absl::StripAsciiWhitespace(s), "' is not a number"));
  }
  return f;
}

absl::StatusOr<tsdb::LabelMatcher> ToMatcher(const v1::LabelMatcher& m) {
  if (m.name().empty()) return absl::InvalidArgumentError("matchers: a label name is empty");
  tsdb::LabelMatcher out;
  out.name = m.name();
  out.value = m.value();
  switch (m.op()) {
    case v1::LabelMatcher::EQ:
      out.op = tsdb::LabelMatcher::Op::kEq;
      break;
    case v1::LabelMatcher::NE:
      out.op = tsdb::LabelMatcher::Op::kNe;
      break;
    case v1::LabelMatcher::RE:
      out.op = tsdb::LabelMatcher::Op::kRe;
      break;
    case v1::LabelMatcher::NOT_RE:
      out.op = tsdb::LabelMatcher::Op::kNotRe;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("matchers: unknown operator ", m.op(), " for label '", m.name(), "'"));
  }
  return out;
}

}  // namespace

absl::StatusOr<tsdb::QueryRequest> ToQueryRequest(const v1::QueryMetricsRequest& req, int64_t now_ms) {
  if (req.metric().empty()) return absl::InvalidArgumentError("metric is required");
  tsdb::QueryRequest q;
  q.metric = req.metric();
  q.start_ms = req.start_ms();
  q.end_ms = req.end_ms() > 0 ? req.end_ms() : now_ms;
  if (!req.agent_id().empty()) q.matchers.push_back({kAgentLabel, tsdb::LabelMatcher::Op::kEq, req.agent_id()});
  for (const v1::Label& l : req.match()) {
    if (l.name().empty()) return absl::InvalidArgumentError("match: a label name is empty");
    q.matchers.push_back({l.name(), tsdb::LabelMatcher::Op::kEq, l.value()});
  }
  for (const v1::LabelMatcher& m : req.matchers()) {
    ASSIGN_OR_RETURN(tsdb::LabelMatcher matcher, ToMatcher(m));
    q.matchers.push_back(std::move(matcher));
  }
  if (!req.agg().empty()) {
    ASSIGN_OR_RETURN(q.agg, tsdb::ParseAggregation(req.agg()));
  }
  q.step_ms = req.step_ms();
  q.group_by.assign(req.group_by().begin(), req.group_by().end());
  q.top_k = req.top_k();
  q.last_point = req.last_point();
  if (!req.value_filter().empty()) {
    ASSIGN_OR_RETURN(q.filter, ParseValueFilter(req.value_filter()));
  }
  return q;
}

void ToQueryResponse(const tsdb::QueryRequest& query, tsdb::QueryResult result, bool one_agent,
                     v1::QueryMetricsResponse* resp) {
  for (tsdb::ResultGroup& g : result.groups) {
    v1::Series* s = resp->add_series();
    s->set_name(query.metric);
    s->set_counter(query.agg == tsdb::Aggregation::kNone && g.counter);
    for (auto& [name, value] : g.labels) {
      if (one_agent && name == kAgentLabel) continue;
      v1::Label* l = s->add_labels();
      l->set_name(std::move(name));
      l->set_value(std::move(value));
    }
    s->mutable_points()->Reserve(static_cast<int>(g.points.size()));
    for (const tsdb::Point& p : g.points) {
      v1::Point* out = s->add_points();
      out->set_time_ms(p.time_ms);
      out->set_value(p.value);
    }
  }
}

std::vector<tsdb::IngestSeries> ToIngestSeries(const std::string& agent_id, const v1::MetricBatch& batch) {
  std::vector<tsdb::IngestSeries> out;
  out.reserve(static_cast<size_t>(batch.series_size()));
  for (const v1::Series& s : batch.series()) {
    tsdb::IngestSeries& in = out.emplace_back();
    in.metric = s.name();
    in.counter = s.counter();
    in.labels.reserve(static_cast<size_t>(s.labels_size()) + 1);
    for (const v1::Label& l : s.labels()) {
      // The collector's own label wins: an agent cannot pose as another.
      if (l.name() != kAgentLabel) in.labels.emplace_back(l.name(), l.value());
    }
    in.labels.emplace_back(kAgentLabel, agent_id);
    in.samples.reserve(static_cast<size_t>(s.points_size()));
    for (const v1::Point& p : s.points()) in.samples.push_back({p.time_ms(), p.value()});
  }
  return out;
}

}  // namespace steward::collector

#include "collector/service/metrics_query.h"

#include <algorithm>
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
  // No metric is allowed when a `__name__` matcher names the metrics; the
  // engine's validation says what is missing otherwise.
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
  resp->set_agg(std::string(tsdb::AggregationName(query.last_point ? tsdb::Aggregation::kNone : query.agg)));
  for (tsdb::ResultGroup& g : result.groups) {
    v1::Series* s = resp->add_series();
    s->set_name(std::move(g.metric));
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

void IngestBatch::Build(const std::string& agent_id, const v1::MetricBatch& batch,
                        const metrics::DecodedColumns& columns) {
  labels_.clear();
  samples_.clear();
  views_.clear();
  const auto& symbols = batch.columns().symbols();
  same_symbols_ = static_cast<size_t>(symbols.size()) == known_symbols_.size() &&
                  std::equal(symbols.begin(), symbols.end(), known_symbols_.begin());
  known_hits_ = 0;
  size_t labels = 0, samples = 0;
  for (const v1::Series& s : batch.series()) {
    labels += static_cast<size_t>(s.labels_size()) + 1;
    samples += static_cast<size_t>(s.points_size());
  }
  for (const metrics::DecodedSeries& s : columns.series) labels += s.label_count + 1;
  samples += columns.times.size();
  // Reserved up front: the views below point into these vectors.
  labels_.reserve(labels);
  samples_.reserve(samples);
  views_.reserve(static_cast<size_t>(batch.series_size()) + columns.series.size());
  // Labels sorted by name as the TSDB wants them: the agent's are sorted
  // (ValidateEnvelope checks), and `agent` goes in its place among them.
  auto add = [&](absl::string_view metric, bool counter, uint64_t id, auto&& each_label,
                 auto&& each_sample) {
    const size_t label_begin = labels_.size(), sample_begin = samples_.size();
    if (id == 0) {
      bool placed = false;
      each_label([&](absl::string_view name, absl::string_view value) {
        if (!placed && name >= kAgentLabel) {
          labels_.emplace_back(kAgentLabel, agent_id);
          placed = true;
        }
        if (name != kAgentLabel) labels_.emplace_back(name, value);
      });
      if (!placed) labels_.emplace_back(kAgentLabel, agent_id);
    }
    each_sample();
    views_.push_back(tsdb::IngestSeriesView{
        metric, absl::MakeConstSpan(labels_).subspan(label_begin), counter,
        absl::MakeConstSpan(samples_).subspan(sample_begin), id});
  };
  for (const v1::Series& s : batch.series()) {
    add(
        s.name(), s.counter(), 0,
        [&](auto&& label) {
          for (const v1::Label& l : s.labels()) label(l.name(), l.value());
        },
        [&] {
          for (const v1::Point& p : s.points()) samples_.push_back({p.time_ms(), p.value()});
        });
  }
  const auto& column = batch.columns().series();
  const auto& values = batch.columns().values();
  for (size_t i = 0; i < columns.series.size(); ++i) {
    const metrics::DecodedSeries& s = columns.series[i];
    uint64_t id = 0;
    if (same_symbols_ && i < known_ids_.size()) {
      const uint32_t width = 2 + 2 * s.label_count;
      const uint32_t* was = known_columns_.data() + known_offsets_[i];
      if (known_offsets_[i + 1] - known_offsets_[i] == width &&
          std::equal(column.begin() + s.column_begin, column.begin() + s.column_begin + width, was)) {
        id = known_ids_[i];
        ++known_hits_;
      }
    }
    add(
        s.metric, s.counter, id,
        [&](auto&& label) {
          for (uint32_t j = 0; j < s.label_count; ++j) {
            const auto [name, value] = columns.label(s, j);
            label(name, value);
          }
        },
        [&] {
          for (uint32_t j = s.point_begin; j < s.point_begin + s.point_count; ++j) {
            samples_.push_back({columns.times[j], values[static_cast<int>(j)]});
          }
        });
  }
}

void IngestBatch::Remember(const v1::MetricBatch& batch, const metrics::DecodedColumns& columns,
                           const std::vector<uint64_t>& ids) {
  const size_t first = static_cast<size_t>(batch.series_size());
  if (ids.size() != first + columns.series.size()) return;  // not this batch's ids
  if (same_symbols_ && known_hits_ == columns.series.size()) return;  // nothing new
  if (!same_symbols_) {
    const auto& symbols = batch.columns().symbols();
    known_symbols_.assign(symbols.begin(), symbols.end());
  }
  const auto& column = batch.columns().series();
  known_columns_.clear();
  known_offsets_.assign(1, 0);
  known_ids_.assign(ids.begin() + static_cast<ptrdiff_t>(first), ids.end());
  for (const metrics::DecodedSeries& s : columns.series) {
    const uint32_t width = 2 + 2 * s.label_count;
    known_columns_.insert(known_columns_.end(), column.begin() + s.column_begin,
                          column.begin() + s.column_begin + width);
    known_offsets_.push_back(static_cast<uint32_t>(known_columns_.size()));
  }
}

}  // namespace steward::collector

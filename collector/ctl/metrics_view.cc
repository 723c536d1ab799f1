#include "collector/ctl/metrics_view.h"

#include <cmath>
#include <cstdio>
#include <iterator>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "collector/ctl/table.h"
#include "common/duration.h"
#include "common/json_writer.h"

namespace steward::ctl {
namespace {

// The matcher name that means the metric name (collector/tsdb/series_source.h).
constexpr char kMetricNameLabel[] = "__name__";

bool IsNameStart(char c) { return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || absl::ascii_isdigit(static_cast<unsigned char>(c)); }

// `v` with one decimal at most ("7.8", "512"), then `suffix`.
std::string OneDecimal(double v, absl::string_view suffix) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  absl::string_view text = buf;
  if (absl::EndsWith(text, ".0")) text.remove_suffix(2);
  return absl::StrCat(text, suffix);
}

std::string Bytes(double v, absl::string_view per) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double scaled = std::fabs(v);
  size_t i = 0;
  while (scaled >= 1024 && i + 1 < std::size(kUnits)) {
    scaled /= 1024;
    ++i;
  }
  // Bytes themselves may be fractions (an average): FormatValue keeps them.
  std::string number = i == 0 ? FormatValue(scaled) : OneDecimal(scaled, "");
  return absl::StrCat(v < 0 ? "-" : "", number, " ", kUnits[i], per);
}

std::string Duration(double v) {
  struct Unit {
    double seconds;
    const char* name;
  };
  constexpr Unit kUnits[] = {{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}, {1e-3, "ms"}};
  const double a = std::fabs(v);
  if (a == 0) return "0 s";
  for (const Unit& u : kUnits) {
    if (a >= u.seconds) return absl::StrCat(v < 0 ? "-" : "", OneDecimal(a / u.seconds, " "), u.name);
  }
  // Below a millisecond: still ms (table cells stay ASCII, one byte a column).
  return absl::StrCat(v < 0 ? "-" : "", FormatValue(a * 1e3), " ms");
}

// A time as docs/protocol.md's unix_seconds: a whole number for a whole
// second, else with its milliseconds; never in exponent form.
void UnixSeconds(JsonWriter& w, int64_t ms) {
  if (ms % 1000 == 0) {
    w.Int(ms / 1000);
  } else {
    w.Double(static_cast<double>(ms) / 1000.0);
  }
}

}  // namespace

ValueUnit UnitOf(absl::string_view metric, absl::string_view agg) {
  ValueUnit unit = ValueUnit::kNone;
  absl::string_view name = metric;
  absl::ConsumeSuffix(&name, "_total");
  if (absl::EndsWith(name, "_bytes")) {
    unit = ValueUnit::kBytes;
  } else if (absl::EndsWith(name, "_time_seconds") || absl::EndsWith(name, "_timestamp_seconds")) {
    unit = ValueUnit::kUnixTime;
  } else if (absl::EndsWith(name, "_seconds")) {
    unit = ValueUnit::kSeconds;
  }
  if (agg == "count") return ValueUnit::kNone;
  if (agg == "rate") return unit == ValueUnit::kBytes ? ValueUnit::kBytesPerSecond : ValueUnit::kNone;
  if (unit == ValueUnit::kUnixTime && (agg == "sum" || agg == "increase")) return ValueUnit::kNone;
  return unit;
}

std::string FormatInUnit(double v, ValueUnit unit) {
  if (!std::isfinite(v)) return FormatValue(v);
  switch (unit) {
    case ValueUnit::kBytes:
      return Bytes(v, "");
    case ValueUnit::kBytesPerSecond:
      return Bytes(v, "/s");
    case ValueUnit::kSeconds:
      return Duration(v);
    case ValueUnit::kUnixTime:
      // Up to the year 9999; beyond, the number says more than a date would.
      if (std::fabs(v) < 253402300800.0) {
        return FormatRfc3339(absl::FromUnixMillis(static_cast<int64_t>(std::llround(v * 1000))));
      }
      return FormatValue(v);
    case ValueUnit::kNone:
      break;
  }
  return FormatValue(v);
}

std::string LabelsText(const google::protobuf::RepeatedPtrField<v1::Label>& labels) {
  std::vector<std::string> parts;
  for (const auto& l : labels) parts.push_back(absl::StrCat(l.name(), "=", l.value()));
  return parts.empty() ? "-" : absl::StrJoin(parts, ",");
}

std::string FormatValue(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, (v != 0 && (std::fabs(v) >= 1e15 || std::fabs(v) < 1e-4)) ? "%.6g" : "%.6f", v);
  std::string s = buf;
  if (s.find('.') != std::string::npos && s.find('e') == std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string HumanAge(int64_t ms, absl::Time now) {
  if (ms <= 0) return "never";
  absl::Duration age = now - absl::FromUnixMillis(ms);
  if (age < absl::Seconds(1)) return "now";
  return absl::StrCat(absl::FormatDuration(absl::Trunc(age, absl::Seconds(1))), " ago");
}

absl::StatusOr<v1::LabelMatcher> ParseMatcher(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (i == 0 ? IsNameStart(text[i]) : IsNameChar(text[i]))) ++i;
  v1::LabelMatcher m;
  m.set_name(text.substr(0, i));
  absl::string_view rest = absl::string_view(text).substr(i);
  struct Op {
    absl::string_view text;
    v1::LabelMatcher::Op op;
  };
  // Two-character operators first ("=~" before "=").
  constexpr Op kOps[] = {{"!~", v1::LabelMatcher::NOT_RE},
                         {"=~", v1::LabelMatcher::RE},
                         {"!=", v1::LabelMatcher::NE},
                         {"=", v1::LabelMatcher::EQ}};
  for (const Op& op : kOps) {
    if (i > 0 && absl::StartsWith(rest, op.text)) {
      m.set_op(op.op);
      m.set_value(std::string(rest.substr(op.text.size())));
      return m;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--match '", text, "' must look like label=value, label!=value, label=~regex or label!~regex"));
}

bool NamesMetrics(const v1::QueryMetricsRequest& req) {
  for (const v1::Label& l : req.match()) {
    if (l.name() == kMetricNameLabel) return true;
  }
  for (const v1::LabelMatcher& m : req.matchers()) {
    if (m.name() == kMetricNameLabel &&
        (m.op() == v1::LabelMatcher::EQ || m.op() == v1::LabelMatcher::RE)) {
      return true;
    }
  }
  return false;
}

void PrintMetrics(const v1::QueryMetricsResponse& resp, const std::string& metric, bool aggregated,
                  bool json, absl::Time now, std::ostream& out) {
  // Several metrics: say which each series or group is. One metric keeps
  // the output scripts already parse.
  const bool several = metric.empty();
  const std::string none =
      several ? "(no samples match)\n" : absl::StrCat("(no samples of ", metric, " match)\n");
  if (json) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& s : resp.series()) {
      w.BeginObject();
      if (several) w.Key("metric").String(s.name());
      w.Key("labels").BeginObject();
      for (const auto& l : s.labels()) w.Key(l.name()).String(l.value());
      w.EndObject();
      w.Key("counter").Bool(s.counter()).Key("points").BeginArray();
      for (const auto& p : s.points()) {
        w.BeginArray(true);
        UnixSeconds(w, p.time_ms());
        w.Double(p.value()).EndArray();
      }
      w.EndArray().EndObject();
    }
    w.EndArray();
    out << w.str() << "\n";
    return;
  }
  if (aggregated) {
    std::vector<std::string> columns = {"GROUP", "TIME", "VALUE"};
    if (several) columns.insert(columns.begin(), "METRIC");
    Table t(columns);
    for (const auto& s : resp.series()) {
      // A collector from before QueryMetricsResponse.agg leaves it empty:
      // the unit of an unknown aggregation is unknown.
      const ValueUnit unit = resp.agg().empty() ? ValueUnit::kNone : UnitOf(s.name(), resp.agg());
      for (const auto& p : s.points()) {
        std::vector<std::string> row = {LabelsText(s.labels()),
                                        FormatRfc3339(absl::FromUnixMillis(p.time_ms())),
                                        FormatInUnit(p.value(), unit)};
        if (several) row.insert(row.begin(), s.name().empty() ? "-" : s.name());
        t.AddRow(row);
      }
    }
    out << t.Render();
    if (t.size() == 0) out << none;
    return;
  }
  Table t({"METRIC", "LABELS", "POINTS", "LAST SAMPLE", "VALUE", "RATE/S"});
  for (const auto& s : resp.series()) {
    if (s.points().empty()) continue;
    const auto& last = s.points(s.points_size() - 1);
    std::string rate = "-";
    if (s.counter() && s.points_size() >= 2) {
      const auto& prev = s.points(s.points_size() - 2);
      double dt = static_cast<double>(last.time_ms() - prev.time_ms()) / 1000.0;
      if (dt > 0 && last.value() >= prev.value()) {
        rate = FormatInUnit((last.value() - prev.value()) / dt, UnitOf(s.name(), "rate"));
      }
    }
    t.AddRow({s.name(), LabelsText(s.labels()), absl::StrCat(s.points_size()), HumanAge(last.time_ms(), now),
              FormatInUnit(last.value(), UnitOf(s.name(), "none")), rate});
  }
  out << t.Render();
  if (t.size() == 0) out << none;
}

}  // namespace steward::ctl

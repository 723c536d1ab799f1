#include "common/metrics/series_columns.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace steward::metrics {

bool ValidMetricOrLabelName(absl::string_view s, bool allow_colon, size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    bool ok = absl::ascii_isalpha(c) || c == '_' || (allow_colon && c == ':') ||
              (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

bool ReservedLabelName(absl::string_view s) { return absl::StartsWith(s, "__"); }

std::string LabelNameProblem(absl::string_view s) {
  return absl::StrCat("label name '", absl::CHexEscape(s.substr(0, 64)), "' ",
                      ReservedLabelName(s) ? "is reserved (names starting with '__' are for queries, "
                                             "e.g. __name__)"
                                           : "is invalid");
}

template <typename Labels, typename ToSymbol>
void SeriesColumnsBuilder::AddEntries(bool counter, uint32_t metric, const Labels& labels,
                                      ToSymbol symbol) {
  auto* series = out_->mutable_series();
  series->Add(static_cast<uint32_t>(labels.size() << 1) | (counter ? 1u : 0u));
  series->Add(metric);
  for (const auto& [name, value] : labels) {
    series->Add(symbol(name));  // name before value: the symbol order is part of the output
    series->Add(symbol(value));
  }
  count_slot_ = series->size();
  series->Add(0);
}

void SeriesColumnsBuilder::AddSeries(absl::string_view metric,
                                     absl::Span<const std::pair<std::string, std::string>> labels,
                                     bool counter) {
  AddEntries(counter, Symbol(metric), labels, [this](absl::string_view s) { return Symbol(s); });
}

void SeriesColumnsBuilder::AddSeries(uint32_t metric,
                                     absl::Span<const std::pair<uint32_t, uint32_t>> labels,
                                     bool counter) {
  AddEntries(counter, metric, labels, [](uint32_t s) { return s; });
}

void SeriesColumnsBuilder::AddPoint(int64_t time_ms, double value) {
  // Wrapping subtraction: the decoder adds back with the same wrap check.
  out_->add_time_deltas(static_cast<int64_t>(static_cast<uint64_t>(time_ms) -
                                             static_cast<uint64_t>(last_time_ms_)));
  out_->add_values(value);
  last_time_ms_ = time_ms;
  out_->set_series(count_slot_, out_->series(count_slot_) + 1);
}

uint32_t SeriesColumnsBuilder::Symbol(absl::string_view s) {
  auto [it, inserted] = symbols_.try_emplace(s, static_cast<uint32_t>(out_->symbols_size()));
  if (inserted) out_->add_symbols(std::string(s));
  return it->second;
}

namespace {

// What is known of one symbol, computed when first used in each role.
enum : uint8_t {
  kMetricChecked = 1,
  kMetricOk = 2,
  kLabelChecked = 4,
  kLabelOk = 8,
  kValueChecked = 16,
  kValueOk = 32,
};

bool ValidValue(absl::string_view s, size_t max) {
  return s.size() <= max && s.find('\0') == absl::string_view::npos &&
         s.find('\x1f') == absl::string_view::npos;
}

class Decoder {
 public:
  Decoder(const v1::SeriesColumns& in, const ColumnLimits& limits, DecodedColumns* out)
      : in_(in), limits_(limits), out_(out), state_(static_cast<size_t>(in.symbols_size()), 0) {}

  absl::Status Run() {
    out_->in = &in_;
    out_->series.clear();
    out_->times.clear();
    const int points = in_.time_deltas_size();
    if (points != in_.values_size()) {
      return absl::InvalidArgumentError(absl::StrCat("metric columns: ", points, " time deltas but ",
                                                     in_.values_size(), " values"));
    }
    if (points > limits_.max_points) {
      return absl::InvalidArgumentError(absl::StrCat("metric batch has ", points,
                                                     " points; the limit is ", limits_.max_points));
    }
    const auto& col = in_.series();
    int pos = 0;
    uint32_t point_begin = 0;
    while (pos < col.size()) {
      const int index = static_cast<int>(out_->series.size());
      if (index >= limits_.max_series) {
        return absl::InvalidArgumentError(absl::StrCat("metric batch has more than ", limits_.max_series,
                                                       " series; the limit is ", limits_.max_series));
      }
      // Filled in place (a copy of a just-built struct stalls on store
      // forwarding); on an error `out` is left partly filled.
      DecodedSeries& s = out_->series.emplace_back();
      s.column_begin = static_cast<uint32_t>(pos);
      const uint32_t head = col[pos++];
      s.counter = (head & 1) != 0;
      s.label_count = head >> 1;
      if (s.label_count > static_cast<uint32_t>(limits_.max_labels_per_series)) {
        return Bad(index, "", absl::StrCat("more than ", limits_.max_labels_per_series, " labels"));
      }
      // Metric, label pairs, point count.
      if (static_cast<int64_t>(col.size()) - pos < 2 + 2 * static_cast<int64_t>(s.label_count)) {
        return Bad(index, "", "the series column ends inside this series");
      }
      uint32_t metric = col[pos++];
      if (metric >= state_.size()) return BadSymbol(index, "", "metric name", metric);
      s.metric = *symbols_[metric];
      if (!Check(metric, kMetricChecked, kMetricOk, [&](absl::string_view v) {
            return ValidMetricOrLabelName(v, true, limits_.max_name_bytes);
          })) {
        return Bad(index, s.metric, "metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*");
      }
      // Series usually repeat the label names of the series before them:
      // then their order was checked already.
      const bool same_names = SameNamesAsPrevious(col, pos, s.label_count);
      prev_names_pos_ = pos;
      prev_label_count_ = s.label_count;
      absl::string_view prev_name;
      for (uint32_t i = 0; i < s.label_count; ++i) {
        uint32_t name = col[pos++], value = col[pos++];
        if (name >= state_.size()) return BadSymbol(index, s.metric, "label name", name);
        if (value >= state_.size()) return BadSymbol(index, s.metric, "label value", value);
        if (!Check(name, kLabelChecked, kLabelOk, [&](absl::string_view v) {
              return ValidMetricOrLabelName(v, false, limits_.max_name_bytes) && !ReservedLabelName(v);
            })) {
          return Bad(index, s.metric, LabelNameProblem(*symbols_[name]));
        }
        if (!Check(value, kValueChecked, kValueOk,
                   [&](absl::string_view v) { return ValidValue(v, limits_.max_value_bytes); })) {
          return Bad(index, s.metric,
                     absl::StrCat("label '", *symbols_[name], "' value has a NUL/0x1f byte or is too long"));
        }
        if (!same_names) {
          const absl::string_view name_text = *symbols_[name];
          if (i > 0 && !(prev_name < name_text)) {
            return Bad(index, s.metric, "labels must be sorted by name and unique");
          }
          prev_name = name_text;
        }
      }
      s.point_count = col[pos++];
      if (s.point_count > static_cast<uint32_t>(points) - point_begin) {
        return Bad(index, s.metric,
                   absl::StrCat(s.point_count, " points, but only ", points - static_cast<int>(point_begin),
                                " are left in the time and value columns"));
      }
      s.point_begin = point_begin;
      point_begin += s.point_count;
    }
    if (point_begin != static_cast<uint32_t>(points)) {
      return absl::InvalidArgumentError(absl::StrCat("metric columns: the series hold ", point_begin,
                                                     " points, but the columns have ", points));
    }
    out_->times.reserve(static_cast<size_t>(points));
    // Wrapping sums, as the builder's wrapping differences: every time is
    // reachable and nothing overflows.
    uint64_t t = 0;
    for (int i = 0; i < points; ++i) {
      t += static_cast<uint64_t>(in_.time_deltas(i));
      out_->times.push_back(static_cast<int64_t>(t));
    }
    return absl::OkStatus();
  }

 private:
  // Whether the `count` label names at `pos` are the symbols of the
  // previous series' names (whose order was checked).
  bool SameNamesAsPrevious(const google::protobuf::RepeatedField<uint32_t>& col, int pos,
                           uint32_t count) const {
    if (prev_names_pos_ < 0 || count != prev_label_count_) return false;
    for (uint32_t i = 0; i < count; ++i) {
      if (col[pos + 2 * static_cast<int>(i)] != col[prev_names_pos_ + 2 * static_cast<int>(i)]) return false;
    }
    return true;
  }

  template <typename Valid>
  bool Check(uint32_t symbol, uint8_t checked, uint8_t ok, Valid valid) {
    uint8_t& st = state_[symbol];
    if ((st & checked) == 0) {
      st |= checked;
      if (valid(*symbols_[symbol])) st |= ok;
    }
    return (st & ok) != 0;
  }

  absl::Status Bad(int index, absl::string_view metric, absl::string_view why) const {
    return absl::InvalidArgumentError(absl::StrCat("metric batch series ", index, " ('",
                                                   absl::CHexEscape(metric.substr(0, 64)), "'): ", why));
  }
  absl::Status BadSymbol(int index, absl::string_view metric, absl::string_view what, uint32_t symbol) const {
    return Bad(index, metric, absl::StrCat(what, " refers to symbol ", symbol, ", but there are only ",
                                           state_.size(), " symbols"));
  }

  const v1::SeriesColumns& in_;
  const ColumnLimits& limits_;
  DecodedColumns* out_;
  std::vector<uint8_t> state_;
  const std::string* const* symbols_ = in_.symbols().data();
  int prev_names_pos_ = -1;  // where the previous series' first label name is in the column
  uint32_t prev_label_count_ = 0;
};

}  // namespace

absl::Status DecodeSeriesColumns(const v1::SeriesColumns& in, const ColumnLimits& limits,
                                 DecodedColumns* out) {
  return Decoder(in, limits, out).Run();
}

}  // namespace steward::metrics

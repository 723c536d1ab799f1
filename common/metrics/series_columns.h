#pragma once
// SeriesColumns (proto/steward/v1/agent.proto): a metric batch in columns,
// every string once. SeriesColumnsBuilder writes one (agents, load
// generators); DecodeSeriesColumns checks one and returns views into it
// (the collector), with one allocation per column instead of several per
// series and label.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "steward/v1/agent.pb.h"

namespace steward::metrics {

// Limits the decoder enforces (docs/protocol.md); the same as for the
// plain Series form.
struct ColumnLimits {
  int max_series = 20000;
  int max_points = 200000;
  int max_labels_per_series = 32;
  size_t max_name_bytes = 256;
  size_t max_value_bytes = 4096;
};

// True for a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*, allow_colon) or a label
// name ([a-zA-Z_][a-zA-Z0-9_]*) of at most max_bytes bytes.
bool ValidMetricOrLabelName(absl::string_view s, bool allow_colon, size_t max_bytes);
// Label names starting with "__" are reserved (queries use `__name__` for
// the metric name); batches carrying one are refused.
bool ReservedLabelName(absl::string_view s);
// Why label name `s` is refused: "label name '…' is invalid" or "… is
// reserved ('__' prefix)".
std::string LabelNameProblem(absl::string_view s);

// Appends series to a SeriesColumns message. Labels must be sorted by name
// and unique (the decoder refuses the batch otherwise).
class SeriesColumnsBuilder {
 public:
  explicit SeriesColumnsBuilder(v1::SeriesColumns* out) : out_(out) {}

  // Starts a series; its points follow with AddPoint.
  void AddSeries(absl::string_view metric,
                 absl::Span<const std::pair<std::string, std::string>> labels, bool counter);
  // A point of the last series added (times ascending within the series).
  void AddPoint(int64_t time_ms, double value);

  // The same with strings interned beforehand (Symbol), for callers that
  // send the same labels for many series: `labels` holds (name, value)
  // symbol pairs, sorted by name.
  uint32_t Symbol(absl::string_view s);
  void AddSeries(uint32_t metric, absl::Span<const std::pair<uint32_t, uint32_t>> labels, bool counter);

 private:
  // A series' column entries: header, metric, (name, value) symbols, and
  // its point count (0 until AddPoint).
  template <typename Labels, typename ToSymbol>
  void AddEntries(bool counter, uint32_t metric, const Labels& labels, ToSymbol symbol);

  v1::SeriesColumns* out_;
  absl::flat_hash_map<std::string, uint32_t> symbols_;
  int count_slot_ = -1;  // index in out_->series() of the last series' point count
  int64_t last_time_ms_ = 0;
};

using LabelView = std::pair<absl::string_view, absl::string_view>;

// One decoded series: views into the message.
struct DecodedSeries {
  // Where the series starts in the message's `series` column; its metric
  // and labels take 2 + 2 * label_count entries from there.
  uint32_t column_begin = 0;
  absl::string_view metric;
  bool counter = false;
  uint32_t label_count = 0;
  uint32_t point_begin = 0;  // into DecodedColumns::times and the message's values
  uint32_t point_count = 0;
};

struct DecodedColumns {
  const v1::SeriesColumns* in = nullptr;  // the decoded message
  std::vector<DecodedSeries> series;
  std::vector<int64_t> times;  // absolute, Unix ms

  // Label j (< s.label_count) of series s, as views into the message (read
  // from its column when asked: a batch whose series the collector knows
  // never needs them).
  LabelView label(const DecodedSeries& s, uint32_t j) const {
    const int at = static_cast<int>(s.column_begin) + 2 + 2 * static_cast<int>(j);
    return {in->symbols(static_cast<int>(in->series(at))),
            in->symbols(static_cast<int>(in->series(at + 1)))};
  }
};

// Checks `in` and fills `out` (views stay valid while `in` lives).
// InvalidArgument naming the series and the rule broken: a symbol index out
// of range, a metric or label name not matching [a-zA-Z_][a-zA-Z0-9_]*
// (metric names may also hold ':'), unsorted or repeated label names, a
// label value with a NUL/0x1f byte or too long, columns of different
// lengths, or a limit exceeded. Points out of order are
// not refused here (the TSDB drops them and counts them).
absl::Status DecodeSeriesColumns(const v1::SeriesColumns& in, const ColumnLimits& limits,
                                 DecodedColumns* out);

}  // namespace steward::metrics

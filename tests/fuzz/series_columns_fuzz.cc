// The input parsed as a SeriesColumns message (protobuf wire format, as an
// agent's metric batch brings it) and decoded: no crash; what decodes keeps
// the decoder's promises (names valid, labels sorted and unique, ranges
// inside the columns) and survives a round trip through the builder.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics/series_columns.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  steward::v1::SeriesColumns in;
  if (!in.ParseFromArray(data, static_cast<int>(size))) return 0;
  steward::metrics::ColumnLimits limits;
  limits.max_series = 64;
  limits.max_points = 256;
  steward::metrics::DecodedColumns out;
  if (!steward::metrics::DecodeSeriesColumns(in, limits, &out).ok()) return 0;

  Check(out.times.size() == static_cast<size_t>(in.values_size()));
  Check(out.series.size() <= static_cast<size_t>(limits.max_series));
  size_t points = 0;
  steward::v1::SeriesColumns again;
  steward::metrics::SeriesColumnsBuilder builder(&again);
  for (const auto& s : out.series) {
    Check(!s.metric.empty());
    Check(s.column_begin + 2 + 2 * static_cast<size_t>(s.label_count) <=
          static_cast<size_t>(in.series_size()));
    Check(s.point_begin == points);
    points += s.point_count;
    Check(points <= out.times.size());
    std::vector<std::pair<std::string, std::string>> labels;
    for (uint32_t i = 0; i < s.label_count; ++i) {
      const auto [name, value] = out.label(s, i);
      Check(!name.empty());
      if (i > 0) Check(out.label(s, i - 1).first < name);
      labels.emplace_back(name, value);
    }
    builder.AddSeries(s.metric, labels, s.counter);
    for (uint32_t i = s.point_begin; i < s.point_begin + s.point_count; ++i) {
      builder.AddPoint(out.times[i], in.values(static_cast<int>(i)));
    }
  }
  Check(points == out.times.size());

  // The builder's form of the same decodes to the same series.
  steward::metrics::DecodedColumns round;
  Check(steward::metrics::DecodeSeriesColumns(again, limits, &round).ok());
  Check(round.series.size() == out.series.size() && round.times == out.times);
  for (size_t i = 0; i < out.series.size(); ++i) {
    Check(round.series[i].metric == out.series[i].metric);
    Check(round.series[i].counter == out.series[i].counter);
    Check(round.series[i].label_count == out.series[i].label_count);
    for (uint32_t j = 0; j < out.series[i].label_count; ++j) {
      Check(round.label(round.series[i], j) == out.label(out.series[i], j));
    }
  }
  return 0;
}

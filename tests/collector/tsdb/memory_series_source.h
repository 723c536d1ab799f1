#pragma once
// An in-memory SeriesSource for tests of the query engine: series added by
// hand, matchers (on labels and on `__name__`) evaluated naively over every
// series, and rollups (when asked for) computed by
// brute force from the raw samples at every read, so the engine's rollup
// path is checked against data that cannot disagree with the raw samples.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/tsdb/sample.h"
#include "collector/tsdb/series_source.h"

namespace steward::collector::tsdb::query_test {

// Series kept in vectors. Not thread-safe. Counts the reads the engine
// makes so tests can tell which path it took.
class MemorySeriesSource : public SeriesSource {
 public:
  // One stored series: its SeriesRef and its samples, ascending by time.
  struct Stored {
    SeriesRef ref;
    std::vector<Sample> samples;
  };

  // Adds a series and returns its id (1, 2, …). Sorts `labels` and the
  // samples; the caller keeps label sets unique per metric and sample times
  // unique per series.
  uint64_t Add(std::string metric, Labels labels, bool counter, std::vector<Sample> samples);

  // Makes RollupResolutions() return `resolutions` (ascending); {} = none.
  void set_rollup_resolutions(std::vector<int64_t> resolutions) {
    resolutions_ = std::move(resolutions);
  }

  // Makes MinRollupSpanMs() return `span_ms` for ranges starting at or
  // after `raw_from_ms`, and 0 before it (as if raw samples there could be
  // gone to retention).
  void set_min_rollup_span(int64_t span_ms, int64_t raw_from_ms) {
    min_rollup_span_ms_ = span_ms;
    raw_from_ms_ = raw_from_ms;
  }

  const std::vector<Stored>& series() const { return series_; }
  int sample_reads() const { return sample_reads_; }
  int rollup_reads() const { return rollup_reads_; }

  absl::StatusOr<std::vector<SeriesRef>> Select(absl::string_view metric,
                                                const std::vector<LabelMatcher>& matchers) override;
  absl::Status ReadSamples(uint64_t id, int64_t start_ms, int64_t end_ms,
                           std::vector<Sample>* out) override;
  std::vector<int64_t> RollupResolutions() const override { return resolutions_; }
  int64_t MinRollupSpanMs(int64_t start_ms) const override {
    return start_ms < raw_from_ms_ ? 0 : min_rollup_span_ms_;
  }
  absl::Status ReadRollups(uint64_t id, int64_t resolution_ms, int64_t start_ms, int64_t end_ms,
                           uint32_t fields, std::vector<RollupBucket>* out) override;
  // Knows every series' first and last sample exactly.
  absl::Status ReadRollupsWithin(uint64_t id, int64_t resolution_ms, int64_t range_start,
                                 int64_t range_end, uint32_t fields, std::vector<RollupBucket>* out,
                                 bool* used) override;

 private:
  const Stored* Find(uint64_t id) const;

  std::vector<Stored> series_;
  std::vector<int64_t> resolutions_;
  int64_t min_rollup_span_ms_ = 0;
  int64_t raw_from_ms_ = std::numeric_limits<int64_t>::min();
  int sample_reads_ = 0;
  int rollup_reads_ = 0;
};

}  // namespace steward::collector::tsdb::query_test

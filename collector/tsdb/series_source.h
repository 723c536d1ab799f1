#pragma once
// The seam between the TSDB's storage (TsdbStore: label index, head chunks,
// WAL, persisted chunks, rollups) and its query engine: the engine reads
// series through this interface only, so it is tested against a small
// in-memory implementation and brute-force results, and runs unchanged on
// the RocksDB store.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/tsdb/sample.h"

namespace steward::collector::tsdb {

// A series' labels, sorted by name, names unique. The metric name is not a
// label (SeriesRef::metric). The collector adds `agent` (the agent id) to
// every series an agent sends.
using Labels = std::vector<std::pair<std::string, std::string>>;

// The name a LabelMatcher (or a query's group_by) gives to mean the metric
// name rather than a label, as in Prometheus. A label stored under this name
// cannot be matched or grouped by.
inline constexpr char kMetricNameLabel[] = "__name__";

// One label matcher. A series without the label is matched as if its value
// were "" (Prometheus semantics: `team!="x"` matches series without `team`,
// `team=""` matches only those). Regular expressions (RE2 syntax) are fully
// anchored: `cpu=~"cpu[0-3]"` does not match "cpu10". A matcher named
// kMetricNameLabel tests the series' metric name.
struct LabelMatcher {
  enum class Op { kEq, kNe, kRe, kNotRe };
  std::string name;
  Op op = Op::kEq;
  std::string value;
};

// True if some matcher names metrics positively (kMetricNameLabel with = or
// =~): what Select needs when it is given no metric.
inline bool NamesMetrics(const std::vector<LabelMatcher>& matchers) {
  for (const LabelMatcher& m : matchers) {
    if (m.name == kMetricNameLabel &&
        (m.op == LabelMatcher::Op::kEq || m.op == LabelMatcher::Op::kRe)) {
      return true;
    }
  }
  return false;
}

// A series found by Select. Plain value type.
struct SeriesRef {
  uint64_t id = 0;     // Stable for the life of the store.
  std::string metric;  // The metric name.
  Labels labels;
  bool counter = false;  // Monotonic counter (rate/increase apply).
};

// Aggregates of the samples of one series in [start_ms, start_ms + width),
// as rollups keep them. `last` is the value at `last_ms`, the latest sample
// of the bucket. count > 0 for every bucket returned.
struct RollupBucket {
  int64_t start_ms = 0;
  double min = 0;
  double max = 0;
  double sum = 0;
  uint64_t count = 0;
  double last = 0;
  int64_t last_ms = 0;
};

// A closed time range [start_ms, end_ms].
struct TimeSpan {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

// The fields of RollupBucket a reader needs (bits; count is always filled,
// start_ms always set).
enum RollupField : uint32_t {
  kRollupMin = 1,
  kRollupMax = 2,
  kRollupSum = 4,
  kRollupLast = 8,  // last and last_ms
  kAllRollupFields = kRollupMin | kRollupMax | kRollupSum | kRollupLast,
};

// Read access to stored series. Implementations say their thread-safety;
// the query engine calls one method at a time per query.
class SeriesSource {
 public:
  virtual ~SeriesSource() = default;

  // Series that satisfy every matcher and, when `metric` is not empty, are
  // of `metric`, in id order (so several metrics' series interleave). With
  // an empty `metric`, matchers on kMetricNameLabel say which metrics, and
  // one of them must be = or =~ (NamesMetrics), else InvalidArgument; with
  // both, both apply. An invalid regular expression is InvalidArgument
  // naming it.
  virtual absl::StatusOr<std::vector<SeriesRef>> Select(
      absl::string_view metric, const std::vector<LabelMatcher>& matchers) = 0;

  // Appends to `out` the samples of series `id` with start_ms <= time_ms <=
  // end_ms, ascending by time, no duplicates. Unknown ids append nothing.
  virtual absl::Status ReadSamples(uint64_t id, int64_t start_ms, int64_t end_ms,
                                   std::vector<Sample>* out) = 0;

  // The samples of series `id` in each of `spans` (ascending, disjoint),
  // appended in time order: as ReadSamples per span, which is what the
  // default does; a store can read them in one pass.
  virtual absl::Status ReadSampleSpans(uint64_t id, const std::vector<TimeSpan>& spans,
                                       std::vector<Sample>* out) {
    for (const TimeSpan& span : spans) {
      absl::Status s = ReadSamples(id, span.start_ms, span.end_ms, out);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The latest sample of series `id` with start_ms <= time_ms <= end_ms in
  // *out, or nullopt when there is none. The default reads the range; a
  // store can answer from its newest chunk or head instead.
  virtual absl::Status ReadLastSample(uint64_t id, int64_t start_ms, int64_t end_ms,
                                      std::optional<Sample>* out) {
    std::vector<Sample> samples;
    absl::Status s = ReadSamples(id, start_ms, end_ms, &samples);
    if (!s.ok()) return s;
    *out = samples.empty() ? std::nullopt : std::optional<Sample>(samples.back());
    return absl::OkStatus();
  }

  // A source for the reads of one query (the engine calls it from one
  // thread, one method at a time), which may share state such as a
  // snapshot and iterators across series; nullptr: use this source.
  virtual std::unique_ptr<SeriesSource> ForOneQuery() { return nullptr; }

  // Rollup resolutions this source keeps, in milliseconds (e.g. 60000,
  // 300000, 3600000), ascending; empty when it keeps none.
  virtual std::vector<int64_t> RollupResolutions() const { return {}; }

  // The shortest span of whole rollup buckets worth reading as rollups for
  // a query whose range starts at start_ms: below it the engine reads raw
  // samples (query.h). 0: rollups pay from kMinRollupBuckets buckets on.
  // A store returns 0 when raw samples at start_ms may be gone to
  // retention, so that rollups answer.
  virtual int64_t MinRollupSpanMs(int64_t /*start_ms*/) const { return 0; }

  // Appends to `out` the rollup buckets of series `id` at `resolution_ms`
  // (one of RollupResolutions()) whose start is in [start_ms, end_ms],
  // ascending, buckets without samples omitted. Buckets are aligned to
  // multiples of the resolution since the Unix epoch. Fields not in
  // `fields` (RollupField bits) may be left unset, which saves decoding.
  virtual absl::Status ReadRollups(uint64_t id, int64_t resolution_ms, int64_t start_ms,
                                   int64_t end_ms, uint32_t fields, std::vector<RollupBucket>* out) {
    return absl::UnimplementedError("this series source keeps no rollups");
  }

  // When every sample of series `id` is known to lie in [range_start,
  // range_end]: appends, as ReadRollups would, its buckets from the one
  // holding range_start to the one holding range_end (the buckets at the
  // ends then hold nothing from outside the range) and sets *used. Else
  // appends nothing and sets *used false. The check and the read see the
  // same samples. The default knows nothing: *used false.
  virtual absl::Status ReadRollupsWithin(uint64_t id, int64_t resolution_ms, int64_t range_start,
                                         int64_t range_end, uint32_t fields,
                                         std::vector<RollupBucket>* out, bool* used) {
    *used = false;
    return absl::OkStatus();
  }
};

}  // namespace steward::collector::tsdb

#include "tests/collector/tsdb/memory_series_source.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace steward::collector::tsdb::query_test {
namespace {

std::string LabelValue(const Labels& labels, const std::string& name) {
  for (const auto& [n, v] : labels) {
    if (n == name) return v;
  }
  return "";
}

// The bucket of `time_ms` at `width`: time minus its non-negative remainder.
// Computed in 128 bits so no time overflows.
int64_t RollupStart(int64_t time_ms, int64_t width) {
  __int128 t = time_ms;
  __int128 rem = ((t % width) + width) % width;
  return static_cast<int64_t>(t - rem);
}

}  // namespace

uint64_t MemorySeriesSource::Add(std::string metric, Labels labels, bool counter,
                                 std::vector<Sample> samples) {
  std::sort(labels.begin(), labels.end());
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.time_ms < b.time_ms; });
  uint64_t id = series_.size() + 1;
  series_.push_back(
      {SeriesRef{id, std::move(metric), std::move(labels), counter}, std::move(samples)});
  return id;
}

absl::StatusOr<std::vector<SeriesRef>> MemorySeriesSource::Select(
    absl::string_view metric, const std::vector<LabelMatcher>& matchers) {
  // Every regular expression is checked, even when no series would use it.
  for (const LabelMatcher& m : matchers) {
    if (m.op != LabelMatcher::Op::kRe && m.op != LabelMatcher::Op::kNotRe) continue;
    if (!RE2(m.value, RE2::Quiet).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("matcher ", m.name, ": bad regular expression '", m.value, "'"));
    }
  }
  if (metric.empty() && !NamesMetrics(matchers)) {
    return absl::InvalidArgumentError("select: no metric and no __name__ matcher with = or =~");
  }
  std::vector<SeriesRef> out;
  for (const Stored& s : series_) {
    if (!metric.empty() && s.ref.metric != metric) continue;
    bool all = true;
    for (const LabelMatcher& m : matchers) {
      std::string value =
          m.name == kMetricNameLabel ? s.ref.metric : LabelValue(s.ref.labels, m.name);
      bool match = false;
      switch (m.op) {
        case LabelMatcher::Op::kEq:
          match = value == m.value;
          break;
        case LabelMatcher::Op::kNe:
          match = value != m.value;
          break;
        case LabelMatcher::Op::kRe:
        case LabelMatcher::Op::kNotRe:
          match =
              RE2::FullMatch(value, RE2(m.value, RE2::Quiet)) == (m.op == LabelMatcher::Op::kRe);
          break;
      }
      all = all && match;
    }
    if (all) out.push_back(s.ref);
  }
  return out;
}

const MemorySeriesSource::Stored* MemorySeriesSource::Find(uint64_t id) const {
  return id >= 1 && id <= series_.size() ? &series_[id - 1] : nullptr;
}

absl::Status MemorySeriesSource::ReadSamples(uint64_t id, int64_t start_ms, int64_t end_ms,
                                             std::vector<Sample>* out) {
  ++sample_reads_;
  const Stored* s = Find(id);
  if (s == nullptr) return absl::OkStatus();
  for (const Sample& sample : s->samples) {
    if (sample.time_ms >= start_ms && sample.time_ms <= end_ms) out->push_back(sample);
  }
  return absl::OkStatus();
}

absl::Status MemorySeriesSource::ReadRollups(uint64_t id, int64_t resolution_ms, int64_t start_ms,
                                             int64_t end_ms, uint32_t /*fields: all filled*/,
                                             std::vector<RollupBucket>* out) {
  ++rollup_reads_;
  if (std::find(resolutions_.begin(), resolutions_.end(), resolution_ms) == resolutions_.end()) {
    return absl::InvalidArgumentError(absl::StrCat("no rollups at ", resolution_ms, " ms"));
  }
  const Stored* s = Find(id);
  if (s == nullptr) return absl::OkStatus();
  std::map<int64_t, RollupBucket> buckets;
  for (const Sample& sample : s->samples) {
    int64_t start = RollupStart(sample.time_ms, resolution_ms);
    if (start < start_ms || start > end_ms) continue;
    RollupBucket& b = buckets[start];
    if (b.count == 0) {
      b = RollupBucket{start, sample.value, sample.value, 0, 0, sample.value, sample.time_ms};
    }
    b.min = std::min(b.min, sample.value);
    b.max = std::max(b.max, sample.value);
    b.sum += sample.value;
    ++b.count;
    b.last = sample.value;  // Samples ascend by time.
    b.last_ms = sample.time_ms;
  }
  for (const auto& [start, bucket] : buckets) out->push_back(bucket);
  return absl::OkStatus();
}

absl::Status MemorySeriesSource::ReadRollupsWithin(uint64_t id, int64_t resolution_ms,
                                                   int64_t range_start, int64_t range_end,
                                                   uint32_t fields, std::vector<RollupBucket>* out,
                                                   bool* used) {
  *used = false;
  const Stored* s = Find(id);
  if (s == nullptr || s->samples.empty() || s->samples.front().time_ms < range_start ||
      s->samples.back().time_ms > range_end) {
    return absl::OkStatus();
  }
  *used = true;
  return ReadRollups(id, resolution_ms, RollupStart(range_start, resolution_ms),
                     RollupStart(range_end, resolution_ms), fields, out);
}

}  // namespace steward::collector::tsdb::query_test

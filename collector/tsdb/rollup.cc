#include "collector/tsdb/rollup.h"

#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "collector/tsdb/chunk_encoder.h"
#include "collector/tsdb/chunk_format.h"
#include "collector/tsdb/chunk_iterator.h"
#include "collector/tsdb/tsdb_keys.h"

namespace steward::collector::tsdb {
namespace {

// Combines operands into one bucket; a malformed operand fails the merge,
// which RocksDB reports as corruption on read rather than hiding it.
class RollupMergeOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* logger) const override {
    RollupBucket into, from;
    if (!DecodeRollupValue(absl::string_view(value.data(), value.size()), &from)) return false;
    if (existing_value == nullptr) {
      *new_value = value.ToString();
      return true;
    }
    if (!DecodeRollupValue(absl::string_view(existing_value->data(), existing_value->size()),
                           &into)) {
      return false;
    }
    MergeBuckets(from, &into);
    *new_value = EncodeRollupValue(into);
    return true;
  }
  const char* Name() const override { return "steward.tsdb.RollupMergeOperator"; }
};

}  // namespace

int64_t BucketStart(int64_t time_ms, int64_t resolution_ms) {
  int64_t r = time_ms % resolution_ms;
  if (r < 0) r += resolution_ms;
  return time_ms - r;
}

namespace {
// fmin/fmax without a libm call: a NaN loses unless both are NaN.
inline double Min(double a, double b) { return (b < a || std::isnan(a)) ? b : a; }
inline double Max(double a, double b) { return (b > a || std::isnan(a)) ? b : a; }
}  // namespace

void AddToBucket(const Sample& sample, RollupBucket* bucket) {
  RollupBucket one;
  one.start_ms = bucket->start_ms;
  one.min = one.max = one.sum = one.last = sample.value;
  one.count = 1;
  one.last_ms = sample.time_ms;
  MergeBuckets(one, bucket);
}

void MergeBuckets(const RollupBucket& from, RollupBucket* into) {
  if (from.count == 0) return;
  if (into->count == 0) {
    int64_t start = into->start_ms;
    *into = from;
    into->start_ms = start;
    return;
  }
  into->min = Min(into->min, from.min);
  into->max = Max(into->max, from.max);
  into->sum += from.sum;
  into->count += from.count;
  if (from.last_ms >= into->last_ms) {
    into->last = from.last;
    into->last_ms = from.last_ms;
  }
}

std::vector<RollupBucket> BucketsOf(const std::vector<Sample>& samples, int64_t resolution_ms) {
  std::vector<RollupBucket> out;
  const size_t n = samples.size();
  for (size_t i = 0; i < n;) {
    // One bucket's run of samples (times ascend), in one pass.
    RollupBucket& b = out.emplace_back();
    b.start_ms = BucketStart(samples[i].time_ms, resolution_ms);
    const int64_t last = b.start_ms > std::numeric_limits<int64_t>::max() - (resolution_ms - 1)
                             ? std::numeric_limits<int64_t>::max()
                             : b.start_ms + (resolution_ms - 1);
    double lo = samples[i].value, hi = lo, sum = lo;
    size_t j = i + 1;
    for (; j < n && samples[j].time_ms <= last; ++j) {
      const double v = samples[j].value;
      lo = Min(lo, v);
      hi = Max(hi, v);
      sum += v;
    }
    b.min = lo;
    b.max = hi;
    b.sum = sum;
    b.count = j - i;
    b.last = samples[j - 1].value;
    b.last_ms = samples[j - 1].time_ms;
    i = j;
  }
  return out;
}

std::vector<RollupBucket> CoarserBuckets(const std::vector<RollupBucket>& finer, int64_t resolution_ms) {
  std::vector<RollupBucket> out;
  for (const RollupBucket& f : finer) {
    const int64_t start = BucketStart(f.start_ms, resolution_ms);
    if (out.empty() || out.back().start_ms != start) {
      out.emplace_back();
      out.back().start_ms = start;
    }
    MergeBuckets(f, &out.back());
  }
  return out;
}

void MergeBucketLists(const std::vector<RollupBucket>& add, std::vector<RollupBucket>* into) {
  std::vector<RollupBucket> merged;
  merged.reserve(into->size() + add.size());
  size_t i = 0, j = 0;
  while (i < into->size() || j < add.size()) {
    if (j == add.size() || (i < into->size() && (*into)[i].start_ms < add[j].start_ms)) {
      merged.push_back((*into)[i++]);
    } else if (i == into->size() || add[j].start_ms < (*into)[i].start_ms) {
      merged.push_back(add[j++]);
    } else {
      merged.push_back((*into)[i++]);
      MergeBuckets(add[j++], &merged.back());
    }
  }
  *into = std::move(merged);
}

namespace {
constexpr int kRollupColumns = 6;

double ColumnValue(const RollupBucket& b, int column) {
  switch (column) {
    case 0: return b.min;
    case 1: return b.max;
    case 2: return b.sum;
    case 3: return b.last;
    case 4: return static_cast<double>(b.count);
    default: return static_cast<double>(b.last_ms - b.start_ms);
  }
}
}  // namespace

std::string EncodeRollupRecord(const std::vector<RollupBucket>& buckets) {
  std::string out;
  keys::PutVarint(buckets.size(), &out);
  ChunkEncoder encoder;
  for (int column = 0; column < kRollupColumns; ++column) {
    for (const RollupBucket& b : buckets) {
      // Starts strictly increase and a chunk holds at most
      // kMaxChunkSamples samples, so at most that many buckets.
      if (!encoder.Append(b.start_ms, ColumnValue(b, column)).ok()) std::abort();
    }
    keys::PutLengthPrefixed(encoder.Finish(), &out);
  }
  return out;
}

bool DecodeRollupRecord(absl::string_view bytes, std::vector<RollupBucket>* out, uint32_t fields) {
  uint64_t n = 0;
  if (!keys::GetVarint(&bytes, &n) || n == 0 || n > static_cast<uint64_t>(kMaxChunkSamples)) return false;
  const size_t first = out->size();
  out->resize(first + n);
  RollupBucket* buckets = out->data() + first;
  // Columns: min, max, sum, last, count, last_ms offset. Count always
  // (decoded first: it sets the starts), the others as asked.
  const uint32_t column_fields[kRollupColumns] = {kRollupMin, kRollupMax, kRollupSum,
                                                  kRollupLast, 0, kRollupLast};
  absl::string_view columns[kRollupColumns];
  for (absl::string_view& c : columns) {
    if (!keys::GetLengthPrefixed(&bytes, &c)) return false;
  }
  if (!bytes.empty()) return false;
  bool have_starts = false;
  for (int column : {4, 0, 1, 2, 3, 5}) {
    if (column != 4 && (fields & column_fields[column]) == 0) continue;
    absl::string_view chunk = columns[column];
    absl::StatusOr<ChunkIterator> it = ChunkIterator::Open(chunk);
    if (!it.ok() || it->count() != static_cast<int>(n)) return false;
    for (uint64_t i = 0; i < n; ++i) {
      if (!it->Next()) return false;
      const Sample& s = it->sample();
      RollupBucket& b = buckets[i];
      if (!have_starts) {
        if (i > 0 && s.time_ms <= buckets[i - 1].start_ms) return false;
        b.start_ms = s.time_ms;
      } else if (b.start_ms != s.time_ms) {
        return false;
      }
      switch (column) {
        case 0: b.min = s.value; break;
        case 1: b.max = s.value; break;
        case 2: b.sum = s.value; break;
        case 3: b.last = s.value; break;
        case 4:
          if (!(s.value >= 1 && s.value <= 9e15)) return false;
          b.count = static_cast<uint64_t>(s.value);
          break;
        default:
          if (!(s.value >= 0 && s.value <= 9e15)) return false;
          b.last_ms = b.start_ms + static_cast<int64_t>(s.value);
      }
    }
    have_starts = true;
  }
  return true;
}

std::string EncodeRollupValue(const RollupBucket& b) {
  std::string out;
  out.reserve(48);
  for (double d : {b.min, b.max, b.sum, b.last})
    keys::PutFixed64BE(std::bit_cast<uint64_t>(d), &out);
  keys::PutFixed64BE(b.count, &out);
  keys::PutFixed64BE(static_cast<uint64_t>(b.last_ms), &out);
  return out;
}

bool DecodeRollupValue(absl::string_view bytes, RollupBucket* b) {
  if (bytes.size() != 48) return false;
  const char* p = bytes.data();
  b->min = std::bit_cast<double>(keys::DecodeFixed64BE(p));
  b->max = std::bit_cast<double>(keys::DecodeFixed64BE(p + 8));
  b->sum = std::bit_cast<double>(keys::DecodeFixed64BE(p + 16));
  b->last = std::bit_cast<double>(keys::DecodeFixed64BE(p + 24));
  b->count = keys::DecodeFixed64BE(p + 32);
  b->last_ms = static_cast<int64_t>(keys::DecodeFixed64BE(p + 40));
  return b->count > 0;
}

std::shared_ptr<rocksdb::MergeOperator> NewRollupMergeOperator() {
  return std::make_shared<RollupMergeOperator>();
}

}  // namespace steward::collector::tsdb

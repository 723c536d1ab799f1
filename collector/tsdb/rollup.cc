#include "collector/tsdb/rollup.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <utility>

#include "collector/tsdb/chunk_encoder.h"
#include "collector/tsdb/chunk_format.h"
#include "collector/tsdb/chunk_iterator.h"
#include "collector/tsdb/tsdb_keys.h"

namespace steward::collector::tsdb {
namespace {

// Combines operands: under a bucket key (24 bytes, written before rollup
// records) buckets, under a record key (32 bytes) records, whose buckets
// are merged by start (rollup.h: a block's record gathers the buckets of
// every chunk in the block). A malformed operand fails the merge, which
// RocksDB reports as corruption on read rather than hiding it.
class RollupMergeOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* logger) const override {
    const absl::string_view operand(value.data(), value.size());
    if (key.size() != 24) {
      std::vector<RollupBucket> from, into;
      if (!DecodeRollupRecord(operand, &from)) return false;
      if (existing_value == nullptr) {
        *new_value = value.ToString();
        return true;
      }
      if (!DecodeRollupRecord(absl::string_view(existing_value->data(), existing_value->size()),
                              &into)) {
        return false;
      }
      MergeBucketLists(from, &into);
      *new_value = EncodeRollupRecord(into);
      return true;
    }
    RollupBucket into, from;
    if (!DecodeRollupValue(operand, &from)) return false;
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

RollupBlock RollupBlockOf(int64_t bucket_start_ms, int64_t resolution_ms) {
  const int64_t block_ms = resolution_ms * kRollupBlockBuckets;
  RollupBlock block;
  block.start_ms = BucketStart(bucket_start_ms, block_ms);
  const int64_t span = block_ms - resolution_ms;
  block.last_bucket_ms = block.start_ms > std::numeric_limits<int64_t>::max() - span
                             ? BucketStart(std::numeric_limits<int64_t>::max(), resolution_ms)
                             : block.start_ms + span;
  return block;
}

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

std::string EncodeRollupRecordV1(const std::vector<RollupBucket>& buckets) {
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

namespace {
// Version 1 (rollup.h): six chunk-codec columns.
bool DecodeRollupRecordV1(absl::string_view bytes, std::vector<RollupBucket>* out, uint32_t fields) {
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

}  // namespace

// Version 2 (rollup.h): a shared header, integer columns packed by frame of
// reference over their deltas, value columns as scaled integers when they
// are decimals (else a chunk-codec column).
namespace {

constexpr uint8_t kRecordV2 = 2;
// A value column's tag: 0..kMaxDecimals are scaled integers with that many
// decimals; this one a chunk (chunk_format.h) of the values at times 0..n-1.
constexpr uint8_t kChunkColumn = 0xff;

// Integer column: zz varint v[0]; for n > 1, zz varint m = the smallest
// delta v[i] - v[i-1], u8 width w, then (n-1) times v[i] - v[i-1] - m in w
// bits (most significant first), zero-padded to a byte. Arithmetic mod 2^64.
void PutIntColumn(const std::vector<uint64_t>& v, std::string* out) {
  keys::PutVarint(ZigZag(v[0]), out);
  if (v.size() == 1) return;
  int64_t m = std::numeric_limits<int64_t>::max();
  for (size_t i = 1; i < v.size(); ++i) m = std::min(m, static_cast<int64_t>(v[i] - v[i - 1]));
  uint64_t widest = 0;
  for (size_t i = 1; i < v.size(); ++i) widest |= v[i] - v[i - 1] - static_cast<uint64_t>(m);
  const int width = 64 - std::countl_zero(widest);
  keys::PutVarint(ZigZag(static_cast<uint64_t>(m)), out);
  out->push_back(static_cast<char>(width));
  if (width == 0) return;
  BitWriter bits(out);
  for (size_t i = 1; i < v.size(); ++i) bits.WriteBits(v[i] - v[i - 1] - static_cast<uint64_t>(m), width);
  bits.Finish();
}

// Reads an integer column of n values into *v (when v is not null; else
// only skips it). False if the bytes are short or malformed.
bool GetIntColumn(absl::string_view* in, uint64_t n, std::vector<uint64_t>* v) {
  uint64_t first = 0;
  if (!keys::GetVarint(in, &first)) return false;
  if (v != nullptr) {
    v->resize(n);
    (*v)[0] = UnZigZag(first);
  }
  if (n == 1) return true;
  uint64_t m = 0;
  if (!keys::GetVarint(in, &m) || in->empty()) return false;
  const int width = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  if (width > 64) return false;
  const uint64_t bytes = ((n - 1) * static_cast<uint64_t>(width) + 7) / 8;
  if (bytes > in->size()) return false;
  absl::string_view packed = in->substr(0, bytes);
  in->remove_prefix(bytes);
  if (v == nullptr) return true;
  m = UnZigZag(m);
  BitReader bits(packed);
  for (uint64_t i = 1; i < n; ++i) {
    uint64_t d = 0;
    if (!bits.ReadBits(width, &d)) return false;
    (*v)[i] = (*v)[i - 1] + d + m;
  }
  return true;
}

// The integers k with v[i] == k[i] / 10^decimals exactly (ScaledValue),
// or false. `sum`: a value within 2^-40 of its magnitude of a decimal
// counts as that decimal: a sum of decimals accumulated in doubles carries
// rounding error (in the last bits) that would otherwise cost the column
// its scaled form; the stored sum is then the decimal sum, correctly
// rounded, which differs from the accumulated one in its rounding only.
bool ScaledInts(const std::vector<double>& v, int decimals, bool sum, std::vector<uint64_t>* k) {
  constexpr double kMaxExact = 9007199254740992.0;  // 2^53
  k->resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double x = v[i] * kPow10[decimals];
    if (!(std::fabs(x) < kMaxExact) || (v[i] == 0 && std::signbit(v[i]))) return false;
    const double r = std::nearbyint(x);
    const int64_t ki = static_cast<int64_t>(r);
    if (ScaledValue(ki, decimals) != v[i] &&
        !(sum && std::fabs(x - r) <= std::fabs(r) * 0x1p-40)) {
      return false;
    }
    (*k)[i] = static_cast<uint64_t>(ki);
  }
  return true;
}

void PutValueColumn(const std::vector<double>& v, bool sum, std::string* out) {
  std::vector<uint64_t> k;
  for (int d = 0; d <= kMaxDecimals; ++d) {
    if (!ScaledInts(v, d, sum, &k)) continue;
    out->push_back(static_cast<char>(d));
    PutIntColumn(k, out);
    return;
  }
  out->push_back(static_cast<char>(kChunkColumn));
  ChunkEncoder encoder;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!encoder.Append(static_cast<int64_t>(i), v[i]).ok()) std::abort();  // n <= kMaxChunkSamples
  }
  keys::PutLengthPrefixed(encoder.Finish(), out);
}

// Reads a value column into `set` of each of the n buckets (null: skips).
bool GetValueColumn(absl::string_view* in, RollupBucket* buckets, uint64_t n,
                    double RollupBucket::*set) {
  if (in->empty()) return false;
  const uint8_t tag = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  if (tag <= kMaxDecimals) {
    std::vector<uint64_t> k;
    if (!GetIntColumn(in, n, set == nullptr ? nullptr : &k)) return false;
    if (set != nullptr) {
      for (uint64_t i = 0; i < n; ++i) buckets[i].*set = ScaledValue(static_cast<int64_t>(k[i]), tag);
    }
    return true;
  }
  absl::string_view chunk;
  if (tag != kChunkColumn || !keys::GetLengthPrefixed(in, &chunk)) return false;
  if (set == nullptr) return true;
  absl::StatusOr<ChunkIterator> it = ChunkIterator::Open(chunk);
  if (!it.ok() || it->count() != static_cast<int>(n)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    if (!it->Next()) return false;
    buckets[i].*set = it->sample().value;
  }
  return true;
}

// The largest unit dividing every start's distance from the first.
uint64_t StartUnit(const std::vector<RollupBucket>& buckets) {
  uint64_t unit = 0;
  for (const RollupBucket& b : buckets) {
    unit = std::gcd(unit, static_cast<uint64_t>(b.start_ms) - static_cast<uint64_t>(buckets[0].start_ms));
  }
  return unit == 0 ? 1 : unit;
}

}  // namespace

std::string EncodeRollupRecord(const std::vector<RollupBucket>& buckets) {
  // Starts strictly increase; at most kMaxChunkSamples buckets.
  if (buckets.empty() || buckets.size() > static_cast<size_t>(kMaxChunkSamples)) std::abort();
  std::string out;
  out.push_back('\0');
  out.push_back(static_cast<char>(kRecordV2));
  keys::PutVarint(buckets.size(), &out);
  const uint64_t unit = StartUnit(buckets);
  keys::PutVarint(ZigZag(static_cast<uint64_t>(buckets[0].start_ms)), &out);
  keys::PutVarint(unit, &out);
  std::vector<uint64_t> ints(buckets.size());
  for (size_t i = 0; i < buckets.size(); ++i) {
    ints[i] = (static_cast<uint64_t>(buckets[i].start_ms) - static_cast<uint64_t>(buckets[0].start_ms)) / unit;
  }
  PutIntColumn(ints, &out);
  for (size_t i = 0; i < buckets.size(); ++i) ints[i] = buckets[i].count;
  PutIntColumn(ints, &out);
  for (size_t i = 0; i < buckets.size(); ++i) {
    ints[i] = static_cast<uint64_t>(buckets[i].last_ms) - static_cast<uint64_t>(buckets[i].start_ms);
  }
  PutIntColumn(ints, &out);
  std::vector<double> values(buckets.size());
  for (double RollupBucket::*field : {&RollupBucket::min, &RollupBucket::max, &RollupBucket::sum,
                                      &RollupBucket::last}) {
    for (size_t i = 0; i < buckets.size(); ++i) values[i] = buckets[i].*field;
    PutValueColumn(values, field == &RollupBucket::sum, &out);
  }
  return out;
}

namespace {
bool DecodeRollupRecordV2(absl::string_view bytes, std::vector<RollupBucket>* out, uint32_t fields) {
  uint64_t n = 0, start = 0, unit = 0;
  if (bytes.size() < 2 || bytes[1] != static_cast<char>(kRecordV2)) return false;
  bytes.remove_prefix(2);
  if (!keys::GetVarint(&bytes, &n) || n == 0 || n > static_cast<uint64_t>(kMaxChunkSamples) ||
      !keys::GetVarint(&bytes, &start) || !keys::GetVarint(&bytes, &unit) || unit == 0) {
    return false;
  }
  start = UnZigZag(start);
  std::vector<uint64_t> ints;
  const size_t first = out->size();
  out->resize(first + n);
  RollupBucket* buckets = out->data() + first;
  auto fail = [&] {
    out->resize(first);
    return false;
  };
  // Bucket starts: strictly increasing, without overflow.
  if (!GetIntColumn(&bytes, n, &ints) || ints[0] != 0) return fail();
  for (uint64_t i = 0; i < n; ++i) {
    if (i > 0 && ints[i] <= ints[i - 1]) return fail();
    if (ints[i] > (uint64_t{1} << 63) / unit) return fail();
    const uint64_t offset = ints[i] * unit;
    const int64_t s = static_cast<int64_t>(start + offset);
    if (i > 0 && s <= buckets[i - 1].start_ms) return fail();
    buckets[i].start_ms = s;
  }
  if (!GetIntColumn(&bytes, n, &ints)) return fail();
  for (uint64_t i = 0; i < n; ++i) {
    if (ints[i] < 1 || ints[i] > (uint64_t{1} << 53)) return fail();
    buckets[i].count = ints[i];
  }
  const bool last = (fields & kRollupLast) != 0;
  if (!GetIntColumn(&bytes, n, last ? &ints : nullptr)) return fail();
  if (last) {
    for (uint64_t i = 0; i < n; ++i) {
      if (ints[i] >= (uint64_t{1} << 53) ||
          buckets[i].start_ms > std::numeric_limits<int64_t>::max() - static_cast<int64_t>(ints[i])) {
        return fail();
      }
      buckets[i].last_ms = buckets[i].start_ms + static_cast<int64_t>(ints[i]);
    }
  }
  const std::pair<double RollupBucket::*, uint32_t> columns[] = {
      {&RollupBucket::min, kRollupMin}, {&RollupBucket::max, kRollupMax},
      {&RollupBucket::sum, kRollupSum}, {&RollupBucket::last, kRollupLast}};
  for (const auto& [field, bit] : columns) {
    if (!GetValueColumn(&bytes, buckets, n, (fields & bit) != 0 ? field : nullptr)) return fail();
  }
  if (!bytes.empty()) return fail();
  return true;
}
}  // namespace

bool DecodeRollupRecord(absl::string_view bytes, std::vector<RollupBucket>* out, uint32_t fields) {
  if (!bytes.empty() && bytes[0] == '\0') return DecodeRollupRecordV2(bytes, out, fields);
  return DecodeRollupRecordV1(bytes, out, fields);
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

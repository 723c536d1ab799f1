#pragma once
// Rollup buckets (series_source.h's RollupBucket): bucket arithmetic and
// the stored layout (one record per series, resolution and block of
// kRollupBlockBuckets buckets, built by merging the buckets each persisted
// chunk adds).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "collector/tsdb/sample.h"
#include "collector/tsdb/series_source.h"
#include "rocksdb/merge_operator.h"

namespace steward::collector::tsdb {

// The resolutions TsdbStore answers: 5 min and 1 h (as Thanos
// downsamples). Only 5 min buckets are stored (kStoredRollupMs); 1 h ones
// are merged from them when read (12 a bucket): stored, they cost a third
// of the rollups' bytes over the tsdb benchmark's 83 minutes of data.
// Stores written before 2026-12-08 also hold 1 min and 1 h records: no
// longer read, and dropped by compactions (retention.h). At a 10 s
// interval a 1 min bucket sums 6 samples: it cost twice the raw chunks'
// bytes and is no faster to read than they are.
inline constexpr int64_t kRollupResolutionsMs[] = {300'000, 3'600'000};
inline constexpr int64_t kStoredRollupMs = kRollupResolutionsMs[0];
// Each resolution is a multiple of the stored one.
static_assert(kRollupResolutionsMs[1] % kStoredRollupMs == 0);
// Buckets per stored record: a day of 5 min buckets.
inline constexpr int64_t kRollupBlockBuckets = 288;

// The block of the bucket starting at `bucket_start_ms`: its first
// bucket's start and its last's (clamped to the int64 range).
struct RollupBlock {
  int64_t start_ms = 0;
  int64_t last_bucket_ms = 0;
};
RollupBlock RollupBlockOf(int64_t bucket_start_ms, int64_t resolution_ms);
// Whether rollups are stored at `resolution_ms` (kStoredRollupMs).
inline bool IsStoredRollupResolution(int64_t resolution_ms) {
  return resolution_ms == kStoredRollupMs;
}

// The start of the bucket of width `resolution_ms` holding `time_ms`
// (floor division, so negative times land in the right bucket).
int64_t BucketStart(int64_t time_ms, int64_t resolution_ms);

// Adds one sample to `bucket` (count == 0 means empty). min and max use
// fmin/fmax, so a NaN value only shows when every value is NaN; `last` is
// the value of the latest sample (on equal times, the one added last).
void AddToBucket(const Sample& sample, RollupBucket* bucket);
// Combines two partial buckets of the same start.
void MergeBuckets(const RollupBucket& from, RollupBucket* into);

// Buckets of `samples` (ascending by time), ascending by start.
std::vector<RollupBucket> BucketsOf(const std::vector<Sample>& samples, int64_t resolution_ms);
// The buckets at `resolution_ms` that `finer` (ascending, at a resolution
// dividing it) make up: merged, so sums may differ from BucketsOf's in
// their rounding only.
std::vector<RollupBucket> CoarserBuckets(const std::vector<RollupBucket>& finer, int64_t resolution_ms);
// Merges `add` (ascending, like BucketsOf) into `into` (ascending).
void MergeBucketLists(const std::vector<RollupBucket>& add, std::vector<RollupBucket>* into);

// A rollup record: buckets of one series at one resolution, ascending by
// start (at most kMaxChunkSamples). Stored one per block of
// kRollupBlockBuckets buckets (tsdb_keys.h), as Merge operands of the
// buckets each persisted chunk adds: a bucket straddling two chunks comes
// in two operands, merged by start (NewRollupMergeOperator; readers merge
// equal starts too, across records written before blocks).
// Layout (version 2): 0x00, 0x02, varint bucket count n, zz varint first
// start, varint unit (the starts' common step), then integer columns
// (start - first) / unit, count, last_ms - start, then value columns min,
// max, sum, last. An integer column: zz varint first value, and for n > 1
// zz varint m (the smallest delta) , u8 width w, then each delta minus m in
// w bits, byte-padded. A value column: u8 decimals d (0..9) then an
// integer column of value * 10^d, or 0xff and a length-prefixed chunk
// (chunk_format.h) of the values at times 0..n-1. Sums within 2^-40 of a
// decimal are stored as that decimal (their rounding error would cost the
// column its scaled form). A day of 5 min buckets of a 2-decimal gauge
// takes about 6 bytes a bucket.
std::string EncodeRollupRecord(const std::vector<RollupBucket>& buckets);
// Appends the record's buckets to *out; false if the bytes are malformed.
// Only the columns in `fields` (RollupField bits; count always) are
// decoded, the others are skipped and left 0. Reads both versions.
bool DecodeRollupRecord(absl::string_view bytes, std::vector<RollupBucket>* out,
                        uint32_t fields = kAllRollupFields);
// Version 1, as written from 2026-11-23 to 2026-12-07 (one Put per chunk
// and resolution): a varint bucket count, then six length-prefixed chunks
// over the bucket starts: min, max, sum, last, count, last_ms - start.
// Still read; written only by tests of stores of that time.
std::string EncodeRollupRecordV1(const std::vector<RollupBucket>& buckets);

// Before rollup records, one key per bucket (24-byte keys) combined by a
// merge operator. Still read, and the operator stays registered so old
// files open: min, max, sum, last as double bits, count, last_ms; 8 bytes
// each, big-endian.
std::string EncodeRollupValue(const RollupBucket& bucket);
bool DecodeRollupValue(absl::string_view bytes, RollupBucket* bucket);
std::shared_ptr<rocksdb::MergeOperator> NewRollupMergeOperator();

}  // namespace steward::collector::tsdb

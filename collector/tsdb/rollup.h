#pragma once
// Rollup buckets (series_source.h's RollupBucket): bucket arithmetic and
// the stored layout (one record per persisted chunk and resolution).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "collector/tsdb/sample.h"
#include "collector/tsdb/series_source.h"
#include "rocksdb/merge_operator.h"

namespace steward::collector::tsdb {

// The resolutions TsdbStore keeps: 1 min, 5 min, 1 h.
inline constexpr int64_t kRollupResolutionsMs[] = {60'000, 300'000, 3'600'000};
// Each resolution divides the next (coarser buckets are built from finer).
static_assert(kRollupResolutionsMs[1] % kRollupResolutionsMs[0] == 0 &&
              kRollupResolutionsMs[2] % kRollupResolutionsMs[1] == 0);

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

// A rollup record: the buckets of one persisted chunk at one resolution
// (one RocksDB key per chunk and resolution, never per bucket; a bucket
// straddling two chunks is in both records, partially, and readers merge
// equal starts). Layout: varint bucket count, then six length-prefixed
// chunks (chunk_format.h) over the bucket starts: min, max, sum, last,
// count and last_ms - start, so the chunk codec compresses each column.
std::string EncodeRollupRecord(const std::vector<RollupBucket>& buckets);
// Appends the record's buckets to *out; false if the bytes are malformed.
// Only the columns in `fields` (RollupField bits; count always) are
// decoded, the others are skipped unchecked and left 0.
bool DecodeRollupRecord(absl::string_view bytes, std::vector<RollupBucket>* out,
                        uint32_t fields = kAllRollupFields);

// Before rollup records, one key per bucket (24-byte keys) combined by a
// merge operator. Still read, and the operator stays registered so old
// files open: min, max, sum, last as double bits, count, last_ms; 8 bytes
// each, big-endian.
std::string EncodeRollupValue(const RollupBucket& bucket);
bool DecodeRollupValue(absl::string_view bytes, RollupBucket* bucket);
std::shared_ptr<rocksdb::MergeOperator> NewRollupMergeOperator();

}  // namespace steward::collector::tsdb

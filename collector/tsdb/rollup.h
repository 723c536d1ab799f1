#pragma once
// Rollup buckets (series_source.h's RollupBucket): bucket arithmetic, the
// stored value layout, and the RocksDB merge operator that combines partial
// buckets (a bucket straddling two persisted chunks gets one Merge operand
// from each).

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
// Merges `add` (ascending, like BucketsOf) into `into` (ascending).
void MergeBucketLists(const std::vector<RollupBucket>& add, std::vector<RollupBucket>* into);

// Value layout (the start is in the key): min, max, sum, last as double
// bits, count, last_ms; 8 bytes each, big-endian.
std::string EncodeRollupValue(const RollupBucket& bucket);
bool DecodeRollupValue(absl::string_view bytes, RollupBucket* bucket);

// The merge operator of tsdb_rollups: MergeBuckets on decoded values.
// Stateless, so thread-safe.
std::shared_ptr<rocksdb::MergeOperator> NewRollupMergeOperator();

}  // namespace steward::collector::tsdb

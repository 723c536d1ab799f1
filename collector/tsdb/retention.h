#pragma once
// Retention of TsdbStore's chunks and rollups: compaction filters that drop
// what ended before `now_ms() - retention`, so expired data goes away as
// RocksDB compacts, without a scan of its own.

#include <cstdint>
#include <functional>
#include <memory>

#include "rocksdb/compaction_filter.h"

namespace steward::collector::tsdb {

// For tsdb_chunks: drops a chunk whose end time (the value header,
// tsdb_keys.h) is before now_ms() - retention_ms. Malformed entries are kept.
// The factory reads the clock once per compaction; `now_ms` must be
// thread-safe (RocksDB compacts on its own threads). retention_ms <= 0
// keeps everything.
std::shared_ptr<rocksdb::CompactionFilterFactory> NewChunkRetentionFilterFactory(
    std::function<int64_t()> now_ms, int64_t retention_ms);

// For tsdb_rollups: drops a bucket or record (value or merge operand) whose
// (last) bucket's end, start + resolution from the key, is before now_ms() -
// retention_ms, and any of a resolution no longer stored (IsStoredRollupResolution),
// whatever the retention.
std::shared_ptr<rocksdb::CompactionFilterFactory> NewRollupRetentionFilterFactory(
    std::function<int64_t()> now_ms, int64_t retention_ms);

}  // namespace steward::collector::tsdb

// TsdbStore: opening the database, recovering counters, replaying the WAL.

#include <algorithm>
#include <chrono>

#include "collector/tsdb/chunk_format.h"
#include "collector/tsdb/retention.h"
#include "collector/tsdb/rollup.h"
#include "collector/tsdb/tsdb_keys.h"
#include "collector/tsdb/tsdb_store.h"
#include "collector/tsdb/tsdb_store_internal.h"
#include "common/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "spdlog/spdlog.h"

namespace steward::collector::tsdb {
using internal::ToAbsl;
using internal::View;

namespace {

absl::Status CheckOptions(const TsdbOptions& o) {
  if (o.max_head_samples < 1 || o.max_head_samples > kMaxChunkSamples) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tsdb: max_head_samples must be in [1, ", kMaxChunkSamples, "], not ", o.max_head_samples));
  }
  if (o.max_head_span_ms <= 0)
    return absl::InvalidArgumentError("tsdb: max_head_span_ms must be > 0");
  if (o.max_head_age_ms <= 0)
    return absl::InvalidArgumentError("tsdb: max_head_age_ms must be > 0");
  return absl::OkStatus();
}

// Block-based tables on the shared block cache, their blocks checksummed
// with XXH3: Debian's RocksDB is built without SSE 4.2, so its CRC32C is
// the table-driven software one (3% of the collector's ingest CPU).
rocksdb::BlockBasedTableOptions TableOptions(std::shared_ptr<rocksdb::Cache> cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = std::move(cache);
  table.checksum = rocksdb::kXXH3;
  return table;
}

// Prefix seeks by series id over chunk and rollup keys, with a prefix bloom
// filter so a series scan skips files that do not hold the series.
rocksdb::ColumnFamilyOptions SeriesPrefixed(const rocksdb::Options& base,
                                            std::shared_ptr<rocksdb::Cache> cache) {
  rocksdb::ColumnFamilyOptions cf(base);
  cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(keys::kIdBytes));
  rocksdb::BlockBasedTableOptions table = TableOptions(std::move(cache));
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = false;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

// Plain block-based tables on the shared block cache.
rocksdb::ColumnFamilyOptions Plain(const rocksdb::Options& base, std::shared_ptr<rocksdb::Cache> cache) {
  rocksdb::ColumnFamilyOptions cf(base);
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(TableOptions(std::move(cache))));
  return cf;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TsdbStore>> TsdbStore::Open(const std::string& dir,
                                                           TsdbOptions options) {
  RETURN_IF_ERROR(CheckOptions(options));
  if (!options.now_ms) {
    options.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  std::unique_ptr<TsdbStore> store(new TsdbStore());
  store->options_ = std::move(options);
  RETURN_IF_ERROR(store->OpenDb(dir));
  absl::MutexLock lock(&store->mu_);
  RETURN_IF_ERROR(store->LoadCounters());
  RETURN_IF_ERROR(store->ReplayWal());
  return store;
}

absl::Status TsdbStore::OpenDb(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  options.keep_log_file_num = 5;
  options.max_total_wal_size = 64 << 20;
  options.db_write_buffer_size = options_.memtable_bytes;
  options.write_buffer_size = std::max<size_t>(options_.memtable_bytes / 2, size_t{1} << 20);

  // zstd where data stays: chunks are already compact (zstd still finds
  // the repeated headers), rollup buckets are plain doubles, the index is
  // label text. The WAL column family lives briefly: not compressed.
  auto zstd = [](rocksdb::ColumnFamilyOptions cf) {
    cf.compression = rocksdb::kZSTD;
    cf.bottommost_compression = rocksdb::kZSTD;
    return cf;
  };
  // One block cache for every column family (RocksDB would give each its
  // own 8 MB): queries touching thousands of series read their newest
  // chunks and rollups from it instead of decompressing blocks again.
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
  rocksdb::ColumnFamilyOptions chunks = SeriesPrefixed(options, cache);
  chunks.compaction_filter_factory =
      NewChunkRetentionFilterFactory(options_.now_ms, options_.retention_ms);
  rocksdb::ColumnFamilyOptions rollups = SeriesPrefixed(options, cache);
  rollups.merge_operator = NewRollupMergeOperator();
  rollups.compaction_filter_factory =
      NewRollupRetentionFilterFactory(options_.now_ms, options_.rollup_retention_ms);

  auto uncompressed = [](rocksdb::ColumnFamilyOptions cf) {
    cf.compression = rocksdb::kNoCompression;
    return cf;
  };
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(options)},
      {"tsdb_series", zstd(Plain(options, cache))},
      {"tsdb_postings", zstd(Plain(options, cache))},
      {"tsdb_chunks", zstd(chunks)},
      {"tsdb_wal", uncompressed(Plain(options, cache))},
      {"tsdb_rollups", zstd(rollups)},
  };
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(ToAbsl(rocksdb::DB::Open(options, dir, cfs, &handles_, &raw),
                         absl::StrCat("cannot open RocksDB at ", dir)));
  db_.reset(raw);
  series_cf_ = handles_[1];
  postings_cf_ = handles_[2];
  chunks_cf_ = handles_[3];
  wal_cf_ = handles_[4];
  rollups_cf_ = handles_[5];
  return absl::OkStatus();
}

TsdbStore::~TsdbStore() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

// The next series id follows the largest stored one ('i' records sort by id).
absl::Status TsdbStore::LoadCounters() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), series_cf_));
  it->SeekForPrev(keys::SeriesRecordKey(~uint64_t{0}));
  if (it->Valid() && it->key().size() == 9 && it->key()[0] == keys::kSeriesRecordTag) {
    next_series_id_ = keys::DecodeFixed64BE(it->key().data() + 1) + 1;
  }
  return ToAbsl(it->status(), "cannot read the series index");
}

absl::Status TsdbStore::ReplayWal() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), wal_cf_));
  uint64_t records = 0, samples = 0;
  std::vector<SealedChunk> sealed;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 8) {
      return absl::DataLossError(absl::StrCat("tsdb WAL: key of ", it->key().size(), " bytes"));
    }
    uint64_t wal_id = keys::DecodeFixed64BE(it->key().data());
    if (records == 0) wal_truncated_below_ = wal_id;
    next_wal_id_ = wal_id + 1;
    WalRecord record;
    RETURN_IF_ERROR(DecodeWalRecord(wal_id, View(it->value()), &record));
    // Load each head's persisted end: samples at or before it are dropped
    // (ApplyToHeads skips them), as Append drops old samples.
    for (const WalRecord::Run& run : record.runs) {
      RETURN_IF_ERROR(HeadOf(run.id).status());
    }
    wal_times_[wal_id] = Now();
    samples += ApplyToHeads(wal_id, record, &sealed);
    ++records;
  }
  RETURN_IF_ERROR(ToAbsl(it->status(), "cannot read the WAL"));
  if (records == 0) wal_truncated_below_ = next_wal_id_;
  RETURN_IF_ERROR(PersistChunks(sealed));
  if (records > 0) {
    spdlog::info("tsdb: replayed {} WAL record(s), {} sample(s) into {} head(s)", records, samples,
                 pins_.size());
  }
  return MaintainLocked();
}

}  // namespace steward::collector::tsdb

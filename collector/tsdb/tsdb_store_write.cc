// TsdbStore: ingest (Append), heads, persisting chunks, WAL truncation.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "collector/tsdb/chunk_encoder.h"
#include "collector/tsdb/rollup.h"
#include "collector/tsdb/tsdb_keys.h"
#include "collector/tsdb/tsdb_store.h"
#include "collector/tsdb/tsdb_store_internal.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "rocksdb/utilities/checkpoint.h"
#include "spdlog/spdlog.h"

namespace steward::collector::tsdb {
using internal::ToAbsl;

namespace {
// Bytes a head costs beyond its samples: the map entry, the vector header,
// the pin (rough, but constant per head).
constexpr size_t kHeadOverheadBytes = 96;
}  // namespace

int64_t TsdbStore::Now() const { return options_.now_ms(); }

absl::StatusOr<TsdbStore::Head*> TsdbStore::HeadOf(uint64_t id) {
  auto it = heads_.find(id);
  if (it != heads_.end()) return &it->second;
  Head head;
  int64_t last_chunk_ms = 0;
  RETURN_IF_ERROR(PersistedSpan(id, &head.has_last, &head.first_ms, &head.last_ms, &last_chunk_ms));
  head.first_known = head.has_last;
  // Chunks written from now on follow it: the list covers reads from it on.
  if (head.has_last) head.NoteChunk(last_chunk_ms);
  return &heads_.emplace(id, std::move(head)).first->second;
}

absl::Status TsdbStore::Append(const std::vector<IngestSeries>& batch, AppendStats* stats) {
  std::vector<LabelView> labels;
  for (const IngestSeries& series : batch) {
    for (const auto& [name, value] : series.labels) labels.emplace_back(name, value);
  }
  std::vector<IngestSeriesView> views;
  views.reserve(batch.size());
  size_t at = 0;
  for (const IngestSeries& series : batch) {
    views.push_back(IngestSeriesView{series.metric,
                                     absl::MakeConstSpan(labels).subspan(at, series.labels.size()),
                                     series.counter, series.samples});
    at += series.labels.size();
  }
  return Append(views, stats);
}

absl::Status TsdbStore::Append(absl::Span<const IngestSeriesView> batch, AppendStats* stats,
                              std::vector<uint64_t>* ids_out, size_t max_new_series) {
  rocksdb::WriteBatch write;
  // Series this batch creates: key -> id (ids reserved from next_series_id_).
  absl::flat_hash_map<std::string, uint64_t> pending;
  std::vector<uint64_t> ids;
  ids.reserve(batch.size());
  WalRecord record;
  std::vector<Head*> run_heads;  // the head of each run of `record`
  AppendStats st;
  uint64_t wal_id = 0;  // 0: nothing accepted, no WAL record
  uint64_t first_new_id = 0;  // ids from here on are created by this append
  {
    // Under mu_: ids, the accepted samples against the heads, and the
    // reservations (new series ids, the WAL record id). The synced write
    // then runs without mu_, so appends of several agents overlap their
    // fsyncs (RocksDB commits concurrent writers as a group).
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(write_error_);
    for (const IngestSeriesView& series : batch) {
      if (series.id != 0) {
        if (series.id >= next_series_id_) {
          return absl::InternalError(absl::StrCat("tsdb: append names series id ", series.id,
                                                  ", which this store never gave out"));
        }
        ids.push_back(series.id);
        continue;
      }
      ASSIGN_OR_RETURN(uint64_t id, ResolveSeries(series, pending.size() < max_new_series, &write, &pending));
      if (id == 0) ++st.refused_new_series;
      ids.push_back(id);
    }
    first_new_id = next_series_id_;
    next_series_id_ += pending.size();
    st.new_series = pending.size();
    const uint64_t epoch = ++append_epoch_;
    for (size_t i = 0; i < batch.size(); ++i) {
      const uint64_t id = ids[i];
      if (id == 0) continue;  // a new series over the caller's limit
      Head* head = nullptr;
      if (id >= first_new_id) {
        head = &heads_[id];  // a new series: empty head, dropped again if the write fails
      } else if (absl::StatusOr<Head*> found = HeadOf(id); found.ok()) {
        head = *found;
      } else {
        for (const auto& [key, new_id] : pending) heads_.erase(new_id);
        return found.status();
      }
      bool has_last = head->has_last;
      int64_t last_ms = head->last_ms;
      if (head->epoch == epoch) {  // the series came earlier in this batch
        has_last = true;
        last_ms = head->epoch_last_ms;
      }
      const auto begin = static_cast<uint32_t>(record.samples.size());
      for (const Sample& sample : batch[i].samples) {
        if (has_last && sample.time_ms <= last_ms) {
          ++st.dropped;
          continue;
        }
        record.samples.push_back(sample);
        has_last = true;
        last_ms = sample.time_ms;
      }
      const auto count = static_cast<uint32_t>(record.samples.size()) - begin;
      if (count == 0) continue;
      record.runs.push_back(WalRecord::Run{id, begin, count});
      run_heads.push_back(head);
      ++head->appends;
      head->epoch = epoch;
      head->epoch_last_ms = last_ms;
    }
    st.accepted = record.samples.size();
    if (!record.runs.empty()) {
      wal_id = next_wal_id_++;
      inflight_wal_.insert(wal_id);
      wal_times_[wal_id] = Now();
    }
    for (const auto& [key, id] : pending) inflight_keys_.emplace(key, id);
  }

  absl::Status written;
  if (wal_id != 0) {
    std::string value;
    EncodeWalRecord(record, &value);
    written = ToAbsl(write.Put(wal_cf_, keys::WalKey(wal_id), value), "cannot build a write batch");
  }
  if (written.ok() && write.Count() > 0) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    written = ToAbsl(db_->Write(sync, &write), "cannot write the WAL record");
  }

  absl::MutexLock lock(&mu_);
  for (Head* head : run_heads) --head->appends;
  for (const auto& [key, id] : pending) inflight_keys_.erase(key);
  if (wal_id != 0) inflight_wal_.erase(wal_id);
  if (!written.ok()) {
    // Nothing of the batch is stored; its reserved ids stay unused.
    for (const auto& [key, id] : pending) heads_.erase(id);
    if (wal_id != 0) wal_times_.erase(wal_id);
    return written;
  }
  // Durable: from here on the batch is accepted whatever happens next.
  for (auto& [key, id] : pending) RememberSeriesId(key, id);
  if (!pending.empty()) {
    absl::MutexLock records(&records_mu_);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (ids[i] >= first_new_id) NoteMetric(ids[i], batch[i].metric);
    }
  }
  dropped_samples_ += st.dropped;
  if (stats != nullptr) *stats = st;
  if (ids_out != nullptr) *ids_out = std::move(ids);
  if (wal_id == 0) return absl::OkStatus();
  std::vector<SealedChunk> sealed;
  ApplyToHeads(wal_id, record, &sealed, &run_heads);
  if (sealed.empty()) return MaintainLocked();
  // Full heads: encoded without mu_, so other appends go on meanwhile;
  // readers see the samples in the heads' `persisting` until the write.
  rocksdb::WriteBatch chunks;
  mu_.Unlock();
  absl::Status encoded = EncodeChunks(sealed, &chunks);
  mu_.Lock();
  if (!encoded.ok()) {
    // The sealed samples stay in memory and pinned in the WAL, as after a
    // failed write: refuse further writes until reopened.
    write_error_ = encoded;
    return encoded;
  }
  RETURN_IF_ERROR(WriteChunks(sealed, &chunks));
  return MaintainLocked();
}

uint64_t TsdbStore::ApplyToHeads(uint64_t wal_id, const WalRecord& record,
                                 std::vector<SealedChunk>* sealed, const std::vector<Head*>* heads) {
  const auto max_span = static_cast<uint64_t>(options_.max_head_span_ms);
  uint64_t applied = 0;
  for (size_t r = 0; r < record.runs.size(); ++r) {
    const WalRecord::Run& run = record.runs[r];
    Head& head = heads != nullptr ? *(*heads)[r] : heads_[run.id];
    for (uint32_t i = run.begin; i < run.begin + run.count; ++i) {
      const Sample& sample = record.samples[i];
      if (head.has_last && sample.time_ms <= head.last_ms) continue;  // replay only
      if (!head.has_last) {  // the series' very first sample
        head.first_ms = sample.time_ms;
        head.first_known = true;
      }
      // Times are strictly increasing, so the unsigned difference is exact.
      if (!head.samples.empty() && static_cast<uint64_t>(sample.time_ms) -
                                           static_cast<uint64_t>(head.samples.front_time_ms()) >
                                       max_span) {
        SealHead(run.id, &head, sealed);
      }
      if (head.samples.empty()) {
        head.wal_id = wal_id;
        pins_.emplace(wal_id, run.id);
        head_bytes_ += kHeadOverheadBytes;
      }
      const size_t bytes = head.samples.bytes();
      head.samples.push_back(sample);
      head_bytes_ += head.samples.bytes() - bytes;
      head.last_ms = sample.time_ms;
      head.has_last = true;
      head.last_value = sample.value;
      head.last_value_known = true;
      ++applied;
      if (static_cast<int>(head.samples.size()) >= options_.max_head_samples) {
        SealHead(run.id, &head, sealed);
      }
    }
  }
  return applied;
}

void TsdbStore::SealHead(uint64_t id, Head* head, std::vector<SealedChunk>* sealed) {
  if (head->samples.empty()) return;
  pins_.erase({head->wal_id, id});
  const uint64_t serial = ++seal_serial_;
  persisting_pins_.insert({head->wal_id, serial});
  head_bytes_ -= kHeadOverheadBytes + head->samples.bytes();
  auto samples = std::make_shared<const HeadSamples>(std::move(head->samples));
  head->samples = HeadSamples();
  head->persisting.push_back(samples);
  sealed->push_back(SealedChunk{id, head->wal_id, serial, std::move(samples)});
}

absl::Status TsdbStore::EncodeChunks(const std::vector<SealedChunk>& sealed,
                                     rocksdb::WriteBatch* write) const {
  ChunkEncoder encoder;
  std::vector<Sample> samples;
  for (const SealedChunk& chunk : sealed) {
    samples.clear();
    chunk.samples->AppendTo(&samples);
    for (const Sample& s : samples) {
      absl::Status appended = encoder.Append(s.time_ms, s.value);
      // Heads hold strictly increasing times and at most kMaxChunkSamples.
      if (!appended.ok()) {
        spdlog::critical("tsdb: head of series {} does not encode: {}", chunk.id,
                         appended.ToString());
        std::abort();
      }
    }
    std::string value = keys::ChunkValue(samples.back().time_ms, encoder.Finish());
    RETURN_IF_ERROR(ToAbsl(
        write->Put(chunks_cf_, keys::ChunkKey(chunk.id, samples.front().time_ms), value),
        "cannot build a write batch"));
    if (!options_.rollups) continue;
    // The buckets of each block go to its record as a Merge operand
    // (rollup.h).
    const std::vector<RollupBucket> buckets = BucketsOf(samples, kStoredRollupMs);
    std::vector<RollupBucket> part;
    for (size_t i = 0; i < buckets.size();) {
      const RollupBlock block = RollupBlockOf(buckets[i].start_ms, kStoredRollupMs);
      part.clear();
      for (; i < buckets.size() && buckets[i].start_ms <= block.last_bucket_ms; ++i) {
        part.push_back(buckets[i]);
      }
      RETURN_IF_ERROR(ToAbsl(
          write->Merge(rollups_cf_,
                       keys::RollupRecordKey(chunk.id, kStoredRollupMs, block.last_bucket_ms,
                                             block.start_ms),
                       EncodeRollupRecord(part)),
          "cannot build a write batch"));
    }
  }
  return absl::OkStatus();
}

absl::Status TsdbStore::WriteChunks(const std::vector<SealedChunk>& sealed,
                                    rocksdb::WriteBatch* write) {
  if (sealed.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(write_error_);
  // Not synced: the WAL records stay until a later write deletes them, and
  // RocksDB's log keeps writes in order, so that deletion never outlives a
  // crash without this write.
  absl::Status written = ToAbsl(db_->Write(rocksdb::WriteOptions(), write), "cannot persist chunks");
  if (!written.ok()) {
    // The samples stay in memory (readers see them) and pinned in the WAL,
    // but did not reach the disk: refuse further writes until reopened.
    spdlog::error("tsdb: {}; refusing writes until reopened", written.ToString());
    write_error_ = written;
    return written;
  }
  for (const SealedChunk& chunk : sealed) {
    persisting_pins_.erase({chunk.wal_id, chunk.serial});
    Head& head = heads_[chunk.id];
    std::erase(head.persisting, chunk.samples);
    head.sealed_seq = ++seal_counter_;
    head.NoteChunk(chunk.samples->front_time_ms());
  }
  return absl::OkStatus();
}

absl::Status TsdbStore::PersistChunks(const std::vector<SealedChunk>& sealed) {
  if (sealed.empty()) return absl::OkStatus();
  rocksdb::WriteBatch write;
  RETURN_IF_ERROR(EncodeChunks(sealed, &write));
  return WriteChunks(sealed, &write);
}

absl::Status TsdbStore::Maintain() {
  absl::MutexLock lock(&mu_);
  DropIdleHeads();
  return MaintainLocked();
}

void TsdbStore::DropIdleHeads() {
  const int64_t now = Now();
  if (now - last_idle_sweep_ms_ < options_.idle_head_ms) return;
  last_idle_sweep_ms_ = now;
  size_t dropped = 0;
  for (auto it = heads_.begin(); it != heads_.end();) {
    Head& head = it->second;
    const bool idle = head.samples.empty() && head.persisting.empty() && head.appends == 0;
    if (idle && head.idle_seen) {
      dropped_heads_seal_seq_ = std::max(dropped_heads_seal_seq_, head.sealed_seq);
      heads_.erase(it++);
      ++dropped;
      continue;
    }
    head.idle_seen = idle;
    ++it;
  }
  if (dropped > 0) spdlog::info("tsdb: dropped {} idle head(s), {} kept", dropped, heads_.size());
}

absl::Status TsdbStore::MaintainLocked() {
  RETURN_IF_ERROR(write_error_);
  const int64_t now = Now();
  std::vector<SealedChunk> sealed;
  while (!pins_.empty()) {
    auto [wal_id, id] = *pins_.begin();
    auto written = wal_times_.find(wal_id);
    bool old = written == wal_times_.end() || now - written->second > options_.max_head_age_ms;
    if (!old && head_bytes_ <= options_.max_head_bytes) break;
    SealHead(id, &heads_[id], &sealed);
  }
  RETURN_IF_ERROR(PersistChunks(sealed));
  return TruncateWal();
}

absl::Status TsdbStore::Flush() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(write_error_);
  std::vector<SealedChunk> sealed;
  while (!pins_.empty()) {
    uint64_t id = pins_.begin()->second;
    SealHead(id, &heads_[id], &sealed);
  }
  RETURN_IF_ERROR(PersistChunks(sealed));
  // And the chunks that appends sealed before this call and are encoding.
  const uint64_t sealed_before = seal_serial_;
  auto written = [this, sealed_before]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!write_error_.ok()) return true;
    for (const auto& [wal_id, serial] : persisting_pins_) {
      if (serial <= sealed_before) return false;
    }
    return true;
  };
  mu_.Await(absl::Condition(&written));
  RETURN_IF_ERROR(write_error_);
  return TruncateWal();
}

absl::Status TsdbStore::TruncateWal() {
  uint64_t low = pins_.empty() ? next_wal_id_ : pins_.begin()->first;
  if (!persisting_pins_.empty()) low = std::min(low, persisting_pins_.begin()->first);
  // A record being written (or written but not yet in the heads) stays.
  if (!inflight_wal_.empty()) low = std::min(low, *inflight_wal_.begin());
  if (low <= wal_truncated_below_) return absl::OkStatus();
  rocksdb::WriteBatch write;
  RETURN_IF_ERROR(
      ToAbsl(write.DeleteRange(wal_cf_, keys::WalKey(wal_truncated_below_), keys::WalKey(low)),
             "cannot build a write batch"));
  RETURN_IF_ERROR(ToAbsl(db_->Write(rocksdb::WriteOptions(), &write), "cannot truncate the WAL"));
  wal_truncated_below_ = low;
  wal_times_.erase(wal_times_.begin(), wal_times_.lower_bound(low));
  return absl::OkStatus();
}

absl::Status TsdbStore::CompactAll() {
  for (rocksdb::ColumnFamilyHandle* cf : handles_) {
    RETURN_IF_ERROR(ToAbsl(db_->CompactRange(rocksdb::CompactRangeOptions(), cf, nullptr, nullptr),
                           "cannot compact"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TsdbStore::DiskUsage> TsdbStore::disk_usage() {
  auto sst_bytes = [this](rocksdb::ColumnFamilyHandle* cf) -> absl::StatusOr<uint64_t> {
    uint64_t bytes = 0;
    if (!db_->GetIntProperty(cf, rocksdb::DB::Properties::kTotalSstFilesSize, &bytes)) {
      return absl::InternalError("RocksDB did not report rocksdb.total-sst-files-size");
    }
    return bytes;
  };
  DiskUsage u;
  ASSIGN_OR_RETURN(u.data_bytes, sst_bytes(chunks_cf_));
  ASSIGN_OR_RETURN(u.rollup_bytes, sst_bytes(rollups_cf_));
  for (rocksdb::ColumnFamilyHandle* cf : {series_cf_, postings_cf_}) {
    ASSIGN_OR_RETURN(uint64_t b, sst_bytes(cf));
    u.index_bytes += b;
  }
  ASSIGN_OR_RETURN(u.wal_bytes, sst_bytes(wal_cf_));
  return u;
}

size_t TsdbStore::head_bytes() const {
  absl::MutexLock lock(&mu_);
  return head_bytes_;
}

size_t TsdbStore::head_count() const {
  absl::MutexLock lock(&mu_);
  return heads_.size();
}

size_t TsdbStore::active_series() const {
  absl::MutexLock lock(&mu_);
  return pins_.size();
}

}  // namespace steward::collector::tsdb

namespace steward::collector::tsdb {

absl::Status TsdbStore::Checkpoint(const std::string& dir, uint64_t* sequence) {
  RETURN_IF_ERROR(Flush());
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(internal::ToAbsl(rocksdb::Checkpoint::Create(db_.get(), &raw), "cannot start a checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  uint64_t seq = 0;
  RETURN_IF_ERROR(internal::ToAbsl(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0, &seq),
                                   absl::StrCat("cannot write a checkpoint to ", dir)));
  if (sequence != nullptr) *sequence = seq;
  return absl::OkStatus();
}

}  // namespace steward::collector::tsdb

// TsdbStore: reads (samples, rollups) merging persisted data and heads.

#include <algorithm>
#include <optional>

#include "collector/tsdb/chunk_iterator.h"
#include "collector/tsdb/rollup.h"
#include "collector/tsdb/tsdb_keys.h"
#include "collector/tsdb/tsdb_store.h"
#include "collector/tsdb/tsdb_store_internal.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"

namespace steward::collector::tsdb {
using internal::ToAbsl;
using internal::View;

namespace {

// Iterates the keys of one series (chunks or rollups), bounded to the
// series' id prefix. With auto_prefix_mode, RocksDB sees that the upper
// bound is the prefix's immediate successor and uses the prefix bloom
// filters, skipping files that lack the id; unlike prefix_same_as_start, it
// keeps SeekForPrev exact (prefix-mode SeekForPrev lost chunks in the
// round-trip test).
class SeriesIterator {
 public:
  SeriesIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, uint64_t id,
                 const rocksdb::Snapshot* snapshot)
      : lower_(keys::IdPrefix(id)), upper_(keys::IdPrefix(id + 1)) {
    rocksdb::ReadOptions read;
    read.auto_prefix_mode = true;
    read.iterate_lower_bound = &lower_slice_;
    // Ids start at 1 and never reach the maximum, so id + 1 does not wrap.
    read.iterate_upper_bound = &upper_slice_;
    read.snapshot = snapshot;
    it_.reset(db->NewIterator(read, cf));
  }
  rocksdb::Iterator* operator->() { return it_.get(); }
  rocksdb::Iterator* get() { return it_.get(); }

 private:
  std::string lower_, upper_;
  rocksdb::Slice lower_slice_{lower_}, upper_slice_{upper_};
  std::unique_ptr<rocksdb::Iterator> it_;
};

// Releases a snapshot on scope exit.
class SnapshotReleaser {
 public:
  SnapshotReleaser(rocksdb::DB* db, const rocksdb::Snapshot* snapshot)
      : db_(db), snapshot_(snapshot) {}
  ~SnapshotReleaser() {
    if (snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
  }
  SnapshotReleaser(const SnapshotReleaser&) = delete;
  SnapshotReleaser& operator=(const SnapshotReleaser&) = delete;

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};

}  // namespace

absl::Status TsdbStore::PersistedSpan(uint64_t id, bool* found, int64_t* start_ms,
                                      int64_t* end_ms, int64_t* last_chunk_ms) {
  SeriesIterator it(db_.get(), chunks_cf_, id, nullptr);
  it->SeekForPrev(keys::ChunkKey(id, std::numeric_limits<int64_t>::max()));
  *found = false;
  if (!it->Valid() || !it->key().starts_with(keys::IdPrefix(id))) {
    return ToAbsl(it->status(), "cannot read chunks");
  }
  absl::string_view chunk;
  uint64_t last_id = 0;
  if (!keys::ParseChunkValue(View(it->value()), end_ms, &chunk) ||
      !keys::ParseChunkKey(View(it->key()), &last_id, last_chunk_ms) || last_id != id) {
    return absl::DataLossError(absl::StrCat("tsdb: chunk of series ", id, " has no header"));
  }
  it->Seek(keys::ChunkKey(id, std::numeric_limits<int64_t>::min()));
  uint64_t key_id = 0;
  if (!it->Valid() || !keys::ParseChunkKey(View(it->key()), &key_id, start_ms) || key_id != id) {
    RETURN_IF_ERROR(ToAbsl(it->status(), "cannot read chunks"));
    return absl::DataLossError(absl::StrCat("tsdb: series ", id, " lost its first chunk"));
  }
  *found = true;
  return absl::OkStatus();
}

// One snapshot for a query's reads and its iterators, made on first use.
// Total-order iterators (no prefix bounds, so one serves every series):
// readers check the id of every key they get.
struct TsdbStore::ReadContext {
  rocksdb::DB* db = nullptr;
  const rocksdb::Snapshot* snapshot = nullptr;
  uint64_t seal_seq = 0;  // seal_counter_ when the snapshot was taken
  std::unique_ptr<rocksdb::Iterator> chunks, rollups;

  rocksdb::Iterator* Iterator(rocksdb::ColumnFamilyHandle* cf, std::unique_ptr<rocksdb::Iterator>* slot) {
    if (*slot == nullptr) {
      rocksdb::ReadOptions read;
      read.snapshot = snapshot;
      read.total_order_seek = true;
      slot->reset(db->NewIterator(read, cf));
    }
    return slot->get();
  }

  // The iterator a read of series `id` in `cf` uses: the shared one in
  // `slot`, or (with a snapshot of its own, or no shared state) one made in
  // `fresh`.
  static rocksdb::Iterator* For(ReadContext* shared, std::unique_ptr<rocksdb::Iterator> ReadContext::*slot,
                                rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, uint64_t id,
                                const rocksdb::Snapshot* own, std::optional<SeriesIterator>* fresh) {
    if (own != nullptr || shared == nullptr) return fresh->emplace(db, cf, id, own).get();
    return shared->Iterator(cf, &(shared->*slot));
  }
};

// TsdbStore's reads of one query (ForOneQuery).
class TsdbQueryView final : public SeriesSource {
 public:
  explicit TsdbQueryView(TsdbStore* store) : store_(store) {
    absl::MutexLock lock(&store->mu_);
    ctx_.db = store->db_.get();
    ctx_.snapshot = store->db_->GetSnapshot();
    ctx_.seal_seq = store->seal_counter_;
  }
  ~TsdbQueryView() override {
    ctx_.chunks.reset();
    ctx_.rollups.reset();
    ctx_.db->ReleaseSnapshot(ctx_.snapshot);
  }
  TsdbQueryView(const TsdbQueryView&) = delete;
  TsdbQueryView& operator=(const TsdbQueryView&) = delete;

  absl::StatusOr<std::vector<SeriesRef>> Select(absl::string_view metric,
                                                const std::vector<LabelMatcher>& matchers) override {
    return store_->Select(metric, matchers);
  }
  absl::Status ReadSamples(uint64_t id, int64_t start_ms, int64_t end_ms,
                           std::vector<Sample>* out) override {
    return store_->ReadSamplesIn(&ctx_, id, {TimeSpan{start_ms, end_ms}}, out);
  }
  absl::Status ReadSampleSpans(uint64_t id, const std::vector<TimeSpan>& spans,
                               std::vector<Sample>* out) override {
    return store_->ReadSamplesIn(&ctx_, id, spans, out);
  }
  absl::Status ReadLastSample(uint64_t id, int64_t start_ms, int64_t end_ms,
                              std::optional<Sample>* out) override {
    return store_->ReadLastSampleIn(&ctx_, id, start_ms, end_ms, out);
  }
  std::vector<int64_t> RollupResolutions() const override { return store_->RollupResolutions(); }
  int64_t MinRollupSpanMs(int64_t start_ms) const override {
    return store_->MinRollupSpanMs(start_ms);
  }
  absl::Status ReadRollups(uint64_t id, int64_t resolution_ms, int64_t start_ms, int64_t end_ms,
                           uint32_t fields, std::vector<RollupBucket>* out) override {
    return store_->ReadRollupsIn(&ctx_, id, resolution_ms, start_ms, end_ms, fields, out);
  }
  absl::Status ReadRollupsWithin(uint64_t id, int64_t resolution_ms, int64_t range_start,
                                 int64_t range_end, uint32_t fields, std::vector<RollupBucket>* out,
                                 bool* used) override {
    return store_->ReadRollupsWithinIn(&ctx_, id, resolution_ms, range_start, range_end, fields,
                                       out, used);
  }

 private:
  TsdbStore* store_;
  TsdbStore::ReadContext ctx_;
};

std::unique_ptr<SeriesSource> TsdbStore::ForOneQuery() { return std::make_unique<TsdbQueryView>(this); }

bool TsdbStore::HeadSnapshot(uint64_t id, const ReadContext* shared,
                             absl::FunctionRef<bool(const Head*)> need, std::vector<Sample>* head,
                             const rocksdb::Snapshot** own) {
  // Shared: the query threads of one query take it once per series; `need`
  // only reads the head.
  absl::ReaderMutexLock lock(&mu_);
  auto it = heads_.find(id);
  const Head* found = it == heads_.end() ? nullptr : &it->second;
  *own = nullptr;
  if (!need(found)) return false;
  // Persisting a head writes its chunk and empties it under mu_, so a
  // snapshot taken under mu_ and this copy see each sample exactly once.
  // The shared snapshot qualifies while the head was not persisted since
  // it was taken; a series without a head had nothing persisted since Open.
  // A dropped idle head (Maintain) may have been persisted after the
  // shared snapshot: views older than the last drop take their own.
  const uint64_t sealed_seq = found != nullptr ? found->sealed_seq : dropped_heads_seal_seq_;
  if (shared == nullptr || sealed_seq > shared->seal_seq) {
    *own = db_->GetSnapshot();
  }
  if (found != nullptr) {
    head->clear();
    for (const auto& chunk : found->persisting) chunk->AppendTo(head);
    found->samples.AppendTo(head);
  }
  return true;
}

absl::Status TsdbStore::ReadSamples(uint64_t id, int64_t start_ms, int64_t end_ms,
                                    std::vector<Sample>* out) {
  return ReadSamplesIn(nullptr, id, {TimeSpan{start_ms, end_ms}}, out);
}

absl::Status TsdbStore::ReadSampleSpans(uint64_t id, const std::vector<TimeSpan>& spans,
                                        std::vector<Sample>* out) {
  return ReadSamplesIn(nullptr, id, spans, out);
}

absl::Status TsdbStore::ReadLastSample(uint64_t id, int64_t start_ms, int64_t end_ms,
                                       std::optional<Sample>* out) {
  return ReadLastSampleIn(nullptr, id, start_ms, end_ms, out);
}

absl::Status TsdbStore::ReadRollups(uint64_t id, int64_t resolution_ms, int64_t start_ms,
                                    int64_t end_ms, uint32_t fields, std::vector<RollupBucket>* out) {
  return ReadRollupsIn(nullptr, id, resolution_ms, start_ms, end_ms, fields, out);
}

absl::Status TsdbStore::ReadRollupsWithin(uint64_t id, int64_t resolution_ms, int64_t range_start,
                                          int64_t range_end, uint32_t fields,
                                          std::vector<RollupBucket>* out, bool* used) {
  return ReadRollupsWithinIn(nullptr, id, resolution_ms, range_start, range_end, fields, out, used);
}

absl::Status TsdbStore::ReadRollupsWithinIn(ReadContext* shared, uint64_t id,
                                            int64_t resolution_ms, int64_t range_start,
                                            int64_t range_end, uint32_t fields,
                                            std::vector<RollupBucket>* out, bool* used) {
  *used = false;
  if (resolution_ms <= 0 || range_start > range_end) return absl::OkStatus();
  return ReadRollupsIn(shared, id, resolution_ms, BucketStart(range_start, resolution_ms),
                       BucketStart(range_end, resolution_ms), fields, out,
                       TimeSpan{range_start, range_end}, used);
}

absl::Status TsdbStore::ReadLastSampleIn(ReadContext* shared, uint64_t id, int64_t start_ms,
                                         int64_t end_ms, std::optional<Sample>* out) {
  out->reset();
  if (start_ms > end_ms) return absl::OkStatus();
  const rocksdb::Snapshot* own = nullptr;
  std::vector<Sample> head;
  std::optional<int64_t> seek_to;  // the chunk holding end_ms, if the head lists it
  size_t live = 0;                 // head samples not yet sealed (the newest)
  const bool read_disk = HeadSnapshot(id, shared, [&](const Head* h) {
    if (h != nullptr) {
      seek_to = h->ChunkStartFor(end_ms);
      live = h->samples.size();
    }
    // Most last-point queries end now: the head knows the series' latest
    // sample. Unless retention may have dropped it since.
    if (h == nullptr || !h->has_last ||
        (options_.retention_ms > 0 && h->last_ms < Now() - options_.retention_ms)) {
      return true;
    }
    if (h->last_ms < start_ms) return false;
    if (h->last_ms <= end_ms && h->last_value_known) {
      *out = Sample{h->last_ms, h->last_value};
      return false;
    }
    return true;
  }, &head, &own);
  if (!read_disk) return absl::OkStatus();
  SnapshotReleaser release(db_.get(), own);
  // The head's unsealed samples are the newest: their latest at or before
  // end_ms decides when there is one (in range, or nothing is: chunks are
  // older). A persisting chunk's may not be (chunks of one series can reach
  // the disk out of order): it is a candidate, against the disk's.
  std::optional<Sample> persisting;
  for (auto s = head.rbegin(); s != head.rend(); ++s) {
    if (s->time_ms > end_ms) continue;
    if (static_cast<size_t>(s - head.rbegin()) < live) {
      if (s->time_ms >= start_ms) *out = *s;
      return absl::OkStatus();
    }
    if (s->time_ms >= start_ms) persisting = *s;
    break;
  }
  absl::Status disk = ReadLastOnDisk(shared, id, start_ms, end_ms, seek_to, own, out);
  if (persisting.has_value() && (!out->has_value() || (*out)->time_ms < persisting->time_ms)) {
    *out = persisting;
  }
  return disk;
}

absl::Status TsdbStore::ReadLastOnDisk(ReadContext* shared, uint64_t id, int64_t start_ms, int64_t end_ms,
                                       std::optional<int64_t> seek_to, const rocksdb::Snapshot* own,
                                       std::optional<Sample>* out) {
  // The one chunk starting at or before end_ms holds the latest sample at
  // or before it (chunks do not overlap).
  std::optional<SeriesIterator> fresh;
  rocksdb::Iterator* it =
      ReadContext::For(shared, &ReadContext::chunks, db_.get(), chunks_cf_, id, own, &fresh);
  if (seek_to.has_value()) {
    // Forward to it; when retention dropped it, every older chunk went too.
    it->Seek(keys::ChunkKey(id, *seek_to));
  } else {
    it->SeekForPrev(keys::ChunkKey(id, end_ms));
  }
  if (!it->Valid() || !it->key().starts_with(keys::IdPrefix(id))) {
    return ToAbsl(it->status(), "cannot read chunks");
  }
  uint64_t key_id = 0;
  int64_t chunk_start = 0, chunk_end = 0;
  absl::string_view bytes;
  if (!keys::ParseChunkKey(View(it->key()), &key_id, &chunk_start) ||
      !keys::ParseChunkValue(View(it->value()), &chunk_end, &bytes) || key_id != id) {
    return absl::DataLossError(absl::StrCat("tsdb: malformed chunk entry of series ", id));
  }
  if (chunk_start > end_ms || chunk_end < start_ms) return absl::OkStatus();
  ASSIGN_OR_RETURN(ChunkIterator chunk, ChunkIterator::Open(bytes));
  while (chunk.Next()) {
    const Sample& s = chunk.sample();
    if (s.time_ms > end_ms) break;
    if (s.time_ms >= start_ms) *out = s;
  }
  return chunk.status();
}

absl::Status TsdbStore::ReadSamplesIn(ReadContext* shared, uint64_t id,
                                      const std::vector<TimeSpan>& spans, std::vector<Sample>* out) {
  // The spans that may hold samples (ascending, disjoint).
  std::vector<TimeSpan> live;
  const rocksdb::Snapshot* own = nullptr;
  std::vector<Sample> head;
  // Where a forward seek finds the chunk holding the first span's start:
  // the series' first chunk, or a chunk the head lists.
  std::optional<int64_t> seek_from;
  const bool read_disk = HeadSnapshot(id, shared, [&](const Head* h) {
    if (h != nullptr && !spans.empty()) {
      if (h->first_known && spans[0].start_ms <= h->first_ms) {
        seek_from = std::numeric_limits<int64_t>::min();
      } else {
        seek_from = h->ChunkStartFor(spans[0].start_ms);
      }
    }
    for (const TimeSpan& span : spans) {
      if (span.start_ms <= span.end_ms && (h == nullptr || !h->KnownEmpty(span.start_ms, span.end_ms))) {
        live.push_back(span);
      }
    }
    return !live.empty();
  }, &head, &own);
  if (!read_disk) return absl::OkStatus();
  SnapshotReleaser release(db_.get(), own);
  const size_t n = live.size();
  // Appends `s` if it lies in a span at or after *k (advanced past spans
  // that end before s); false once s is after the last span.
  auto emit = [&](const Sample& s, size_t* k) {
    while (*k < n && s.time_ms > live[*k].end_ms) ++*k;
    if (*k == n) return false;
    if (s.time_ms >= live[*k].start_ms) out->push_back(s);
    return true;
  };

  std::optional<SeriesIterator> fresh;
  rocksdb::Iterator* it =
      ReadContext::For(shared, &ReadContext::chunks, db_.get(), chunks_cf_, id, own, &fresh);
  // The chunk starting at or before the first span may reach into it; a
  // forward seek is cheaper when the head knows where that chunk starts.
  if (seek_from.has_value()) {
    it->Seek(keys::ChunkKey(id, *seek_from));
  } else {
    it->SeekForPrev(keys::ChunkKey(id, live[0].start_ms));
    if (!it->Valid() || !it->key().starts_with(keys::IdPrefix(id)))
      it->Seek(keys::ChunkKey(id, std::numeric_limits<int64_t>::min()));
  }
  const size_t disk_begin = out->size();
  size_t k = 0;  // the first span a later chunk can still serve
  for (; it->Valid(); it->Next()) {
    uint64_t key_id = 0;
    int64_t chunk_start = 0, chunk_end = 0;
    absl::string_view bytes;
    if (!keys::ParseChunkKey(View(it->key()), &key_id, &chunk_start) ||
        !keys::ParseChunkValue(View(it->value()), &chunk_end, &bytes)) {
      return absl::DataLossError(absl::StrCat("tsdb: malformed chunk entry of series ", id));
    }
    if (key_id != id) break;
    while (k < n && live[k].end_ms < chunk_start) ++k;
    if (k == n) break;
    if (chunk_end < live[k].start_ms) continue;  // between spans: not decoded
    ASSIGN_OR_RETURN(ChunkIterator chunk, ChunkIterator::Open(bytes));
    size_t j = k;  // AppendSpan true: stopped after span j, so on to the next
    while (j < n && chunk.AppendSpan(live[j].start_ms, live[j].end_ms, out)) ++j;
    if (!chunk.status().ok()) {
      return absl::DataLossError(absl::StrCat("tsdb: chunk of series ", id, " at ", chunk_start,
                                              ": ", chunk.status().message()));
    }
    if (j == n) break;  // past the last span
  }
  RETURN_IF_ERROR(ToAbsl(it->status(), "cannot read chunks"));
  const size_t head_begin = out->size();
  size_t j = 0;
  for (const Sample& s : head) {
    if (!emit(s, &j)) break;
  }
  // Chunks of one series may reach the disk out of order (one still
  // encoding by an append while Maintain or Flush writes the next), and a
  // persisting chunk is then older than a written one: merge by time.
  if (head_begin > disk_begin && head_begin < out->size() &&
      (*out)[head_begin].time_ms < (*out)[head_begin - 1].time_ms) {
    std::inplace_merge(out->begin() + static_cast<ptrdiff_t>(disk_begin),
                       out->begin() + static_cast<ptrdiff_t>(head_begin), out->end(),
                       [](const Sample& a, const Sample& b) { return a.time_ms < b.time_ms; });
  }
  return absl::OkStatus();
}

std::vector<int64_t> TsdbStore::RollupResolutions() const {
  if (!options_.rollups) return {};
  return std::vector<int64_t>(std::begin(kRollupResolutionsMs), std::end(kRollupResolutionsMs));
}

int64_t TsdbStore::MinRollupSpanMs(int64_t start_ms) const {
  if (options_.retention_ms > 0 && start_ms < Now() - options_.retention_ms) return 0;
  return options_.min_rollup_span_ms;
}

absl::Status TsdbStore::ReadRollupsIn(ReadContext* shared, uint64_t id, int64_t resolution_ms,
                                      int64_t start_ms, int64_t end_ms, uint32_t fields,
                                      std::vector<RollupBucket>* out, std::optional<TimeSpan> within,
                                      bool* used) {
  std::vector<int64_t> resolutions = RollupResolutions();
  if (std::find(resolutions.begin(), resolutions.end(), resolution_ms) == resolutions.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tsdb: no rollups at a resolution of ", resolution_ms, " ms"));
  }
  if (start_ms > end_ms) return absl::OkStatus();
  // Buckets starting in [start_ms, end_ms] hold samples up to end_ms +
  // resolution_ms - 1.
  const int64_t data_end = end_ms > std::numeric_limits<int64_t>::max() - resolution_ms
                               ? std::numeric_limits<int64_t>::max()
                               : end_ms + resolution_ms - 1;
  const rocksdb::Snapshot* own = nullptr;
  std::vector<Sample> head;
  if (!HeadSnapshot(
          id, shared,
          [&](const Head* h) {
            if (within.has_value()) {
              // Every sample in `within`: its first (a lower bound once
              // retention dropped chunks) and its latest, under the lock
              // the head copy is taken under, so no later sample slips in.
              if (h == nullptr || !h->first_known || !h->has_last || h->first_ms < within->start_ms ||
                  h->last_ms > within->end_ms) {
                return false;
              }
              *used = true;
            }
            return h == nullptr || !h->KnownEmpty(start_ms, data_end);
          },
          &head, &own)) {
    return absl::OkStatus();
  }
  SnapshotReleaser release(db_.get(), own);

  // Coarser buckets are merged from the stored ones they hold: those
  // starting in [start_ms, end_ms + resolution - stored] (a stored bucket
  // of a coarse bucket starting before start_ms is dropped with it below).
  const int64_t stored = kStoredRollupMs;
  const int64_t read_end =
      end_ms > std::numeric_limits<int64_t>::max() - (resolution_ms - stored)
          ? std::numeric_limits<int64_t>::max()
          : end_ms + (resolution_ms - stored);
  // Records whose last bucket starts at or after start_ms, in key order,
  // up to the first whose last bucket is past read_end (records of later
  // chunks start at or after that bucket). Buckets written one key each
  // before rollup records come in the same order.
  std::vector<RollupBucket> found;
  std::optional<SeriesIterator> fresh;
  rocksdb::Iterator* it =
      ReadContext::For(shared, &ReadContext::rollups, db_.get(), rollups_cf_, id, own, &fresh);
  for (it->Seek(keys::RollupKey(id, stored, start_ms)); it->Valid(); it->Next()) {
    uint64_t key_id = 0;
    int64_t key_resolution = 0, time_ms = 0;
    bool record = false;
    if (!keys::ParseRollupKey(View(it->key()), &key_id, &key_resolution, &time_ms, &record)) {
      return absl::DataLossError(absl::StrCat("tsdb: malformed rollup key of series ", id));
    }
    if (key_id != id || key_resolution != stored) break;
    bool decoded = false;
    if (record) {
      decoded = DecodeRollupRecord(View(it->value()), &found, fields);
    } else {
      RollupBucket b;
      b.start_ms = time_ms;
      decoded = time_ms <= read_end && DecodeRollupValue(View(it->value()), &b);
      if (decoded) found.push_back(b);
      if (time_ms > read_end) break;
    }
    if (!decoded) return absl::DataLossError(absl::StrCat("tsdb: malformed rollup of series ", id));
    if (time_ms > read_end) break;
  }
  RETURN_IF_ERROR(ToAbsl(it->status(), "cannot read rollups"));
  std::erase_if(found, [&](const RollupBucket& b) { return b.start_ms < start_ms || b.start_ms > read_end; });
  // Partial buckets of two chunks share a start: merge them (in place; the
  // records come in key order, so the buckets are already ascending).
  auto by_start = [](const RollupBucket& a, const RollupBucket& b) { return a.start_ms < b.start_ms; };
  if (!std::is_sorted(found.begin(), found.end(), by_start)) {
    std::stable_sort(found.begin(), found.end(), by_start);
  }
  size_t kept = 0;
  for (size_t i = 0; i < found.size(); ++i) {
    if (kept > 0 && found[kept - 1].start_ms == found[i].start_ms) {
      MergeBuckets(found[i], &found[kept - 1]);
    } else {
      found[kept++] = found[i];
    }
  }
  found.resize(kept);
  if (resolution_ms != stored) {
    found = CoarserBuckets(found, resolution_ms);
    std::erase_if(found, [&](const RollupBucket& b) {
      return b.start_ms < start_ms || b.start_ms > end_ms;
    });
  }
  if (head.empty()) {
    out->insert(out->end(), found.begin(), found.end());
    return absl::OkStatus();
  }
  // The head is not rolled up until it is persisted: add it here.
  std::vector<RollupBucket> from_head = BucketsOf(head, resolution_ms);
  std::erase_if(from_head, [&](const RollupBucket& b) {
    return b.start_ms < start_ms || b.start_ms > end_ms;
  });
  MergeBucketLists(from_head, &found);
  out->insert(out->end(), found.begin(), found.end());
  return absl::OkStatus();
}

absl::StatusOr<size_t> TsdbStore::CountWalRecords() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), wal_cf_));
  size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  RETURN_IF_ERROR(ToAbsl(it->status(), "cannot read the WAL"));
  return n;
}

absl::StatusOr<size_t> TsdbStore::CountChunks(uint64_t id) {
  SeriesIterator it(db_.get(), chunks_cf_, id, nullptr);
  std::string prefix = keys::IdPrefix(id);
  size_t n = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
  RETURN_IF_ERROR(ToAbsl(it->status(), "cannot read chunks"));
  return n;
}

}  // namespace steward::collector::tsdb

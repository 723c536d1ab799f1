#pragma once
// TsdbStore: the TSDB's storage on RocksDB (label index, WAL, head chunks in
// memory, persisted chunks, rollups, retention), read through SeriesSource.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "collector/tsdb/head_samples.h"
#include "collector/tsdb/sample.h"
#include "collector/tsdb/series_source.h"
#include "collector/tsdb/wal_record.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Iterator;
class Snapshot;
class WriteBatch;
}  // namespace rocksdb

namespace steward::collector::tsdb {

class CompiledMatchers;

// What Append takes: the samples of one series. Labels in any order; a label
// with an empty value is the same as no label (and is not stored). The
// counter flag is recorded when the series is created; later batches do not
// change it.
struct IngestSeries {
  std::string metric;
  Labels labels;
  bool counter = false;
  std::vector<Sample> samples;
};

// The same by reference, which is what Append works on: nothing is copied
// per series (the views must stay valid during the call).
using LabelView = std::pair<absl::string_view, absl::string_view>;
struct IngestSeriesView {
  absl::string_view metric;
  absl::Span<const LabelView> labels;
  bool counter = false;
  absl::Span<const Sample> samples;
  // The series' id when the caller knows it from an earlier Append of this
  // store (its `ids`): metric and labels are then not looked at. 0: unknown.
  uint64_t id = 0;
};

// What one Append did with its samples.
struct AppendStats {
  uint64_t accepted = 0;
  // Samples at or before the series' latest sample (out of order or
  // duplicate times), which are dropped.
  uint64_t dropped = 0;
  // Series this append created, and series it would have created beyond
  // `max_new_series` (their samples are dropped; nothing of them stored).
  uint64_t new_series = 0;
  uint64_t refused_new_series = 0;
};

struct TsdbOptions {
  // A head chunk is persisted when it holds this many samples (at most
  // kMaxChunkSamples) ...
  int max_head_samples = 120;
  // ... or when a new sample is more than this after the head's first one.
  int64_t max_head_span_ms = 2 * 3600 * 1000;
  // A head whose oldest WAL record was written longer ago than this (by
  // now_ms) is persisted early, so idle series do not pin the WAL.
  int64_t max_head_age_ms = 30 * 60 * 1000;
  // Bound on head memory (head_bytes()); above it the heads pinning the
  // oldest WAL records are persisted first until it holds again.
  size_t max_head_bytes = size_t{256} << 20;
  // Raw chunks whose last sample is older than now_ms() - retention_ms are
  // dropped by compactions; <= 0 keeps them forever.
  int64_t retention_ms = int64_t{15} * 24 * 3600 * 1000;
  // Rollups (5 min buckets; 1 h merged from them on read) are written when
  // heads are persisted, into one record per series and day (rollup.h),
  // and a record is dropped by compactions once its last bucket ends more
  // than rollup_retention_ms before now_ms() (<= 0: kept forever).
  bool rollups = true;
  int64_t rollup_retention_ms = int64_t{400} * 24 * 3600 * 1000;
  // Queries read rollups only over at least this much of whole rollup
  // buckets (SeriesSource::MinRollupSpanMs), unless raw samples at the
  // range's start may be gone to retention. Shorter ranges are read raw: a
  // rollup read costs a second seek and the raw edges around it. Measured
  // with devops data (10 s interval, avg per host, 1 h step): raw 25%
  // faster over 1.4 h, rollups 17% faster over 5.5 h; even near 3 h.
  int64_t min_rollup_span_ms = 3 * 3600 * 1000;
  // Series records kept decoded in memory for Select (about 0.5 KiB each
  // with TSBS-like labels).
  size_t series_record_cache = 200000;
  // Series keys kept with their ids for Append (about 0.25 KiB each with
  // TSBS-like labels). Small: callers pass known ids back
  // (IngestSeriesView::id), so a key is looked up mostly at a session's
  // first batch, and a miss costs one read of the index (~2 us).
  size_t series_id_cache = 16384;
  // Heads that hold no sample and no Append uses are dropped by Maintain()
  // when it finds them so twice this far apart (a series that stopped):
  // heads_ then holds about the series written to recently, not every
  // series since Open. A dropped head is made again from the index and
  // the last chunk when its series comes back.
  int64_t idle_head_ms = 30 * 60 * 1000;
  // Block cache shared by the store's column families (decompressed
  // blocks of chunks, rollups and index).
  size_t block_cache_bytes = size_t{64} << 20;
  // Bound on the memtables of all column families together (RocksDB's
  // db_write_buffer_size: past it the largest is flushed). Without it each
  // column family may hold two 64 MB memtables, and the WAL column family,
  // which every sample crosses, filled them: 150 MB of the collector's
  // memory after ingesting 10 M samples.
  size_t memtable_bytes = size_t{8} << 20;
  // The clock of retention and head ageing; the system clock when empty.
  // Must be thread-safe (compactions call it from RocksDB's threads).
  std::function<int64_t()> now_ms;
};

// The TSDB storage on its own RocksDB (tsdb_keys.h has the layout):
//  * Append resolves each series to an id (creating the index entries), and
//    writes those entries with a WAL record of the accepted samples in one
//    synced WriteBatch, so an Append that returned OK survives kill -9.
//    Then the samples go to the series' head (in memory).
//  * A full head (max_head_samples, max_head_span_ms) is encoded with
//    ChunkEncoder and written to tsdb_chunks with its rollups (Merge
//    operands). WAL records below the oldest one a live head still depends
//    on are then deleted.
//  * Open replays the WAL into heads, skipping samples at or before the end
//    of each series' last persisted chunk.
//  * Reads merge persisted chunks (read at a snapshot taken with the head
//    copy, so a head persisted meanwhile is seen exactly once) and the head.
//
// Heads keep their samples in HeadSamples (encoded segments of 16 samples
// and a raw tail), not a ChunkEncoder per series: the encoder keeps every
// time and value itself until Finish(), so a resident encoder would double
// head memory without saving work.
//
// Invariants (under mu_): a series' head samples are strictly increasing and
// all after its persisted and persisting chunks; a series with head samples
// has exactly one entry in pins_, (id of the oldest WAL record its head
// samples came from, series id), and each sealed chunk not yet written one
// in persisting_pins_; every WAL record with an id >= the smallest pin of
// either is kept. An Append that fills heads encodes their chunks (and
// rollups) without mu_ and writes them under it.
//
// Later, inside the collector's own RocksDB: Append will split into
// PrepareAppend(batch, rocksdb::WriteBatch* out), which resolves ids and
// adds the index and WAL writes to the caller's batch (next to the agent's
// last applied seq) and returns a token holding the accepted samples, and
// CommitAppend(token), called after the caller's synced write, which feeds
// the heads. The WAL record id would come from the token, so nothing else
// changes.
//
// Thread-safe: writes (Append, Flush, Maintain) serialize on one mutex,
// except for an Append's synced write, which runs without it so that the
// fsyncs of concurrent appends overlap; reads take it only to copy a head.
class TsdbStore : public SeriesSource {
 public:
  // Opens (creating if missing) the store in `dir` and replays its WAL.
  static absl::StatusOr<std::unique_ptr<TsdbStore>> Open(const std::string& dir,
                                                         TsdbOptions options);
  // Closes without persisting heads: the WAL holds them for the next Open.
  ~TsdbStore() override;
  TsdbStore(const TsdbStore&) = delete;
  TsdbStore& operator=(const TsdbStore&) = delete;

  // Ingests a batch (see the class comment). InvalidArgument for a series
  // with an empty metric name or an empty/duplicate label name (nothing of
  // the batch is then stored). After a failed write of persisted chunks the
  // store refuses further appends (the data is still in the WAL; reopen).
  // `ids`, when given, receives each series' id, in batch order (a caller
  // sending the same series again may pass them back in the views; a
  // refused new series gets 0). At most `max_new_series` series are
  // created: the samples of the others are dropped (stats->refused_new_series)
  // and the rest of the batch stored, so a caller's limit on series keeps
  // the known ones flowing.
  absl::Status Append(absl::Span<const IngestSeriesView> batch, AppendStats* stats = nullptr,
                      std::vector<uint64_t>* ids = nullptr,
                      size_t max_new_series = std::numeric_limits<size_t>::max());
  // Number of series carrying label name=value (a read of the postings).
  absl::StatusOr<size_t> CountSeriesWithLabel(absl::string_view name, absl::string_view value);
  // The same for owning series (tests, small callers).
  absl::Status Append(const std::vector<IngestSeries>& batch, AppendStats* stats = nullptr);

  // Persists every head and truncates the WAL to nothing.
  absl::Status Flush();
  // Persists heads that are too old or over the memory bound and truncates
  // the WAL. Append calls it; a caller may also call it on a timer, so that
  // heads age out without new appends. Called so, it also drops idle heads
  // (TsdbOptions::idle_head_ms).
  absl::Status Maintain();
  // Persists every head (Flush), then writes a RocksDB checkpoint of the
  // store into `dir` (which must not exist), so the copy holds every sample
  // appended before the call in chunks and needs no replay of heads kept
  // only here. Appends may run meanwhile: those after the flush are in the
  // checkpoint's tsdb_wal (replayed on open) or not at all, whole.
  // *sequence receives the last RocksDB sequence number it holds.
  absl::Status Checkpoint(const std::string& dir, uint64_t* sequence);
  // Compacts every column family (retention filters run); for tests and
  // operators.
  absl::Status CompactAll();

  // Bytes of SST files on disk: data (chunks), rollups, index (series and
  // postings), and the WAL column family. After Flush + CompactAll
  // this is what the store keeps.
  struct DiskUsage {
    uint64_t data_bytes = 0;    // raw chunks
    uint64_t rollup_bytes = 0;  // 5 min rollups (and older 1 m / 1 h ones)
    uint64_t index_bytes = 0;
    uint64_t wal_bytes = 0;
  };
  absl::StatusOr<DiskUsage> disk_usage();

  // Approximate bytes held by heads and the number of series with a head.
  size_t head_bytes() const;
  size_t active_series() const;
  // Heads in memory, empty ones included (tests and operators).
  size_t head_count() const;
  // Samples dropped by every Append since Open.
  uint64_t dropped_samples() const { return dropped_samples_.load(); }
  // Records currently in tsdb_wal (a scan; for tests and operators).
  absl::StatusOr<size_t> CountWalRecords();
  // Persisted chunks of series `id` (a scan; for tests and operators).
  absl::StatusOr<size_t> CountChunks(uint64_t id);

  // The metric names of the series carrying label name=value, sorted,
  // unique (the collector lists a host's metrics with agent=ID).
  absl::StatusOr<std::vector<std::string>> MetricNamesWithLabel(absl::string_view name,
                                                               absl::string_view value);

  // SeriesSource.
  absl::StatusOr<std::vector<SeriesRef>> Select(absl::string_view metric,
                                                const std::vector<LabelMatcher>& matchers) override;
  absl::Status ReadSamples(uint64_t id, int64_t start_ms, int64_t end_ms,
                           std::vector<Sample>* out) override;
  // One seek for all spans; chunks between them are skipped undecoded.
  absl::Status ReadSampleSpans(uint64_t id, const std::vector<TimeSpan>& spans,
                               std::vector<Sample>* out) override;
  absl::Status ReadLastSample(uint64_t id, int64_t start_ms, int64_t end_ms,
                              std::optional<Sample>* out) override;
  // One snapshot and one iterator per column family for all the reads of
  // a query (a series whose head was persisted after the view was made is
  // read at a snapshot of its own, as a direct read is).
  std::unique_ptr<SeriesSource> ForOneQuery() override;
  std::vector<int64_t> RollupResolutions() const override;
  int64_t MinRollupSpanMs(int64_t start_ms) const override;
  absl::Status ReadRollups(uint64_t id, int64_t resolution_ms, int64_t start_ms, int64_t end_ms,
                           uint32_t fields, std::vector<RollupBucket>* out) override;
  // Known from the series' head (its first and latest sample times).
  absl::Status ReadRollupsWithin(uint64_t id, int64_t resolution_ms, int64_t range_start,
                                 int64_t range_end, uint32_t fields, std::vector<RollupBucket>* out,
                                 bool* used) override;

 private:
  // The in-memory state of one series touched since Open.
  struct Head {
    HeadSamples samples;  // not yet persisted
    // Sealed chunks of the series whose write is still to come (an Append
    // encodes them without mu_), older than `samples`: readers see their
    // samples as the head's oldest. Usually none, at most a few.
    std::vector<std::shared_ptr<const HeadSamples>> persisting;
    // The latest accepted or persisted sample's time; has_last false when
    // the series has no sample at all.
    int64_t last_ms = std::numeric_limits<int64_t>::min();
    bool has_last = false;
    uint64_t wal_id = 0;  // oldest WAL record of `samples` (when not empty)
    // The Append (append_epoch_) that last accepted samples for the series
    // and its latest accepted time, so a series twice in one batch is
    // checked against its own earlier samples before they reach the head.
    uint64_t epoch = 0;
    int64_t epoch_last_ms = 0;
    // The value at last_ms, when it came through this process (not when
    // last_ms was only read from the last persisted chunk's header).
    double last_value = 0;
    bool last_value_known = false;
    // seal_counter_ when a chunk of this head was last written (0: never
    // since Open).
    uint64_t sealed_seq = 0;
    // Appends holding this head between their reservation and their
    // samples' arrival (mu_ is released for the synced write): a head in
    // use is never dropped.
    uint32_t appends = 0;
    // Empty and unused at the last idle sweep (DropIdleHeads).
    bool idle_seen = false;
    // The series' first sample time, when known (from its first persisted
    // chunk or its first sample): with last_ms it lets reads of ranges
    // outside the series' data skip RocksDB. Retention may drop chunks
    // after it, so it is a lower bound.
    int64_t first_ms = 0;
    bool first_known = false;

    // The starts of the series' newest chunks (the last one persisted
    // before Open, when the head was made, and those written since),
    // ascending: every chunk starting at or after recent_starts[0] is
    // listed (older ones are not, or were dropped from here).
    // Lets a read seek forward to the chunk holding a time instead of
    // SeekForPrev, which costs RocksDB about twice as much.
    static constexpr int kRecentChunks = 8;
    int64_t recent_starts[kRecentChunks] = {};
    int recent_count = 0;

    // True when the series is known to hold no sample in [start, end].
    bool KnownEmpty(int64_t start, int64_t end) const {
      return has_last && first_known && (end < first_ms || start > last_ms);
    }
    // The start of the chunk that holds time t if any chunk does (the
    // newest listed start at or before t), when the list covers t.
    std::optional<int64_t> ChunkStartFor(int64_t t) const {
      if (recent_count == 0 || t < recent_starts[0]) return std::nullopt;
      const int64_t* end = recent_starts + recent_count;
      return *(std::upper_bound(recent_starts, end, t) - 1);
    }
    // Lists a written chunk's start, keeping the newest kRecentChunks.
    void NoteChunk(int64_t start) {
      int64_t* end = recent_starts + recent_count;
      int64_t* at = std::lower_bound(recent_starts, end, start);
      if (at != end && *at == start) return;
      if (recent_count == kRecentChunks) {
        if (at == recent_starts) return;  // older than every listed one
        std::copy(recent_starts + 1, at, recent_starts);  // drop the oldest
        *(at - 1) = start;
        return;
      }
      std::copy_backward(at, end, end + 1);
      *at = start;
      ++recent_count;
    }
  };
  // Shared read state of a query view (tsdb_store_read.cc).
  struct ReadContext;
  friend class TsdbQueryView;
  // A head taken off for persisting: its samples, in order (shared with
  // the head's `persisting` until written; still encoded, so an append
  // that fills thousands of heads at once holds ~0.3 kB each until their
  // chunks are written, not ~2 kB), and the WAL record its pin in
  // persisting_pins_ names.
  struct SealedChunk {
    uint64_t id = 0;
    uint64_t wal_id = 0;
    uint64_t serial = 0;  // seal_serial_ when sealed
    std::shared_ptr<const HeadSamples> samples;
  };

  TsdbStore() = default;

  // tsdb_store_open.cc
  absl::Status OpenDb(const std::string& dir);
  absl::Status LoadCounters() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ReplayWal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // tsdb_store_index.cc: the series' id, from the cache, the index, or
  // `pending` (ids created by this batch); a new series' index entries go
  // to `batch` and its id to `pending`.
  // 0 when the series is new and `may_create` is false.
  void RememberSeriesId(const std::string& key, uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<uint64_t> ResolveSeries(const IngestSeriesView& series, bool may_create, rocksdb::WriteBatch* batch,
                                         absl::flat_hash_map<std::string, uint64_t>* pending)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records the metric of series `id` in metric_of_.
  void NoteMetric(uint64_t id, absl::string_view metric) ABSL_EXCLUSIVE_LOCKS_REQUIRED(records_mu_);
  // `shared`: an iterator over tsdb_postings to reuse (else one is made).
  absl::StatusOr<std::vector<uint64_t>> ReadPostings(const std::string& prefix,
                                                     rocksdb::Iterator* shared = nullptr);
  // Every metric name in the metric postings, ascending (one Seek per name).
  absl::StatusOr<std::vector<std::string>> ReadMetricNames();
  // The metric names Select(metric, matchers) reads the postings of.
  absl::StatusOr<std::vector<std::string>> SelectMetricNames(absl::string_view metric,
                                                             const CompiledMatchers& matchers);
  // The records of `ids` (all must exist: DataLoss naming `posting` if not)
  // that `keep` accepts, in the order of `ids`. Records come from
  // records_ when cached there (only kept ones are copied).
  absl::StatusOr<std::vector<SeriesRef>> ReadSeriesRecords(
      const std::vector<uint64_t>& ids, absl::string_view posting,
      const std::function<bool(const SeriesRef&)>& keep);

  // tsdb_store_write.cc
  // The head of `id`, created with the series' persisted end if new.
  absl::StatusOr<Head*> HeadOf(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds a record's samples to heads, skipping any at or before a head's
  // latest time; full heads go to `sealed`. Returns the samples added.
  // `heads`, when given, holds each run's head (else they are looked up).
  uint64_t ApplyToHeads(uint64_t wal_id, const WalRecord& record, std::vector<SealedChunk>* sealed,
                        const std::vector<Head*>* heads = nullptr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes the samples of `id`'s head off into `sealed` (its pin moves to
  // persisting_pins_); readers still see them in the head's `persisting`.
  void SealHead(uint64_t id, Head* head, std::vector<SealedChunk>* sealed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The chunks' and their rollups' writes, into `write`. Needs no lock (it
  // reads only the sealed samples and what Open set).
  absl::Status EncodeChunks(const std::vector<SealedChunk>& sealed, rocksdb::WriteBatch* write) const;
  // Writes encoded chunks, then drops them from their heads' `persisting`
  // and unpins them, under mu_ so a reader sees each sample once (in
  // memory before, on disk after). A failure is sticky.
  absl::Status WriteChunks(const std::vector<SealedChunk>& sealed, rocksdb::WriteBatch* write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // EncodeChunks and WriteChunks under mu_ (maintenance, flush, replay).
  absl::Status PersistChunks(const std::vector<SealedChunk>& sealed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MaintainLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops heads found empty and unused at two sweeps idle_head_ms apart
  // (one sweep per idle_head_ms at most).
  void DropIdleHeads() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status TruncateWal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t Now() const;

  // tsdb_store_read.cc
  // End time of the last persisted chunk of `id` and start time of the
  // first, and the last one's start; *found false if none.
  absl::Status PersistedSpan(uint64_t id, bool* found, int64_t* start_ms, int64_t* end_ms,
                             int64_t* last_chunk_ms);

  // One look at the head of `id` under mu_: `need` sees it (nullptr when
  // the series has none) and says whether persisted data must be read (it
  // may answer from the head itself). Only then are the head samples copied
  // into *head and the snapshot to read at picked, consistently: the shared
  // one of `shared` when that one already holds everything persisted of the
  // series (*own is then nullptr), or a new snapshot in *own (to be
  // released by the caller). Returns need's answer.
  bool HeadSnapshot(uint64_t id, const ReadContext* shared,
                    absl::FunctionRef<bool(const Head*)> need, std::vector<Sample>* head,
                    const rocksdb::Snapshot** own);
  // The reads behind the SeriesSource methods, with shared state or
  // (shared == nullptr) on their own.
  absl::Status ReadSamplesIn(ReadContext* shared, uint64_t id, const std::vector<TimeSpan>& spans,
                             std::vector<Sample>* out);
  absl::Status ReadLastSampleIn(ReadContext* shared, uint64_t id, int64_t start_ms,
                                int64_t end_ms, std::optional<Sample>* out);
  // ReadLastSampleIn's read of the chunks at `own` (or `shared`'s
  // snapshot): the latest sample in [start_ms, end_ms] on disk, from the
  // chunk starting at `seek_to` when the head knows it.
  absl::Status ReadLastOnDisk(ReadContext* shared, uint64_t id, int64_t start_ms, int64_t end_ms,
                              std::optional<int64_t> seek_to, const rocksdb::Snapshot* own,
                              std::optional<Sample>* out);
  absl::Status ReadRollupsWithinIn(ReadContext* shared, uint64_t id, int64_t resolution_ms,
                                   int64_t range_start, int64_t range_end, uint32_t fields,
                                   std::vector<RollupBucket>* out, bool* used);
  // `within`: read only if the head shows every sample in it (*used says).
  absl::Status ReadRollupsIn(ReadContext* shared, uint64_t id, int64_t resolution_ms,
                             int64_t start_ms, int64_t end_ms, uint32_t fields,
                             std::vector<RollupBucket>* out,
                             std::optional<TimeSpan> within = std::nullopt, bool* used = nullptr);

  TsdbOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* series_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* postings_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* chunks_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* wal_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* rollups_cf_ = nullptr;

  mutable absl::Mutex mu_;
  absl::Status write_error_ ABSL_GUARDED_BY(mu_);
  uint64_t next_series_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_wal_id_ ABSL_GUARDED_BY(mu_) = 1;
  // WAL records below this id are deleted.
  uint64_t wal_truncated_below_ ABSL_GUARDED_BY(mu_) = 1;
  // Series key (tsdb_keys.h) -> id, for series resolved since Open; at
  // most TsdbOptions::series_id_cache (cleared when full: ResolveSeries
  // then reads the index).
  absl::flat_hash_map<std::string, uint64_t> ids_by_key_ ABSL_GUARDED_BY(mu_);
  // Decoded series records (they never change once written), so a query
  // over thousands of series does not read and decode them each time.
  // Bounded by TsdbOptions::series_record_cache (cleared when full).
  absl::Mutex records_mu_;
  absl::node_hash_map<uint64_t, SeriesRef> records_ ABSL_GUARDED_BY(records_mu_);
  // The metric of each series id known since Open (created, or its record
  // read): 1 + its index in metric_names_, 0 when not known. 4 bytes a
  // series, so Select drops labelled candidates of other metrics without
  // reading their records.
  std::vector<uint32_t> metric_of_ ABSL_GUARDED_BY(records_mu_);
  std::vector<std::string> metric_names_ ABSL_GUARDED_BY(records_mu_);
  absl::flat_hash_map<std::string, uint32_t> metric_numbers_ ABSL_GUARDED_BY(records_mu_);
  // Node map: a Head's address is stable, so an Append carries its heads
  // from the check to ApplyToHeads without a second lookup (heads are
  // erased by the Append that created them, when its write failed, and by
  // DropIdleHeads, which skips heads an Append holds).
  absl::node_hash_map<uint64_t, Head> heads_ ABSL_GUARDED_BY(mu_);
  // (oldest WAL record id, series id) of every non-empty head.
  absl::btree_set<std::pair<uint64_t, uint64_t>> pins_ ABSL_GUARDED_BY(mu_);
  // (WAL record id, serial) of every chunk sealed but not yet written
  // (SealedChunk::wal_id, serial): their WAL records are kept too.
  absl::btree_set<std::pair<uint64_t, uint64_t>> persisting_pins_ ABSL_GUARDED_BY(mu_);
  uint64_t seal_serial_ ABSL_GUARDED_BY(mu_) = 0;
  // now_ms() when each live WAL record was written (or replayed).
  absl::btree_map<uint64_t, int64_t> wal_times_ ABSL_GUARDED_BY(mu_);
  size_t head_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Chunk writes since Open (Head::sealed_seq).
  uint64_t seal_counter_ ABSL_GUARDED_BY(mu_) = 0;
  // The largest sealed_seq of a head dropped as idle, and when heads were
  // last swept (DropIdleHeads).
  uint64_t dropped_heads_seal_seq_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_idle_sweep_ms_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t append_epoch_ ABSL_GUARDED_BY(mu_) = 0;
  // Appends between their reservation and their heads (the synced write
  // runs without mu_): their WAL record ids, which truncation keeps, and
  // the keys of the series they create, which other appends must not
  // create again (they get Unavailable and the agent resends).
  absl::btree_set<uint64_t> inflight_wal_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> inflight_keys_ ABSL_GUARDED_BY(mu_);
  // Scratch space of ResolveSeries (under mu_), kept to save allocations.
  std::vector<LabelView> labels_scratch_ ABSL_GUARDED_BY(mu_);
  std::string key_scratch_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> dropped_samples_{0};
};

}  // namespace steward::collector::tsdb

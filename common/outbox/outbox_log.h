#pragma once
// The agent's durable outbox: every envelope is appended here before it is
// sent and stays until the collector acks its id (docs: ARCHITECTURE.md,
// "Delivery"). Survives kill -9 and power loss mid-write, restarts, and a
// collector that is away for hours; bounded in bytes.
//
// Design
// - Records live in segment files `seg-<first id, 20 digits>.log`; each
//   record is a 17-byte header (length, CRC-32C, kind, id) plus the payload
//   (outbox_format.h). Appends go to the newest ("active") segment, which is
//   rotated once it holds `segment_bytes`. With `sync`, Append returns only
//   after fdatasync, so an id it returned is on disk.
// - Memory: payloads are never kept. The index holds 12 bytes per pending
//   record (id delta, offset, size+kind) plus one map node per segment;
//   Open maps each segment read-only to verify it (file pages, not heap).
// - A small `state` file (written atomically, before any file is deleted or
//   rewritten) holds acked_up_to, next_id and the drop count, so ids are
//   never reused even after every segment is gone.
// - Open verifies every record. Bytes that do not parse are a torn tail
//   when no valid record follows them (truncated: an interrupted Append
//   whose id was never returned), otherwise corruption: counted, reported,
//   and the scan resumes at the next valid record (only the damaged records
//   are lost; the segment is no longer appended to).
// - Bound: when live bytes would pass `max_bytes`, the oldest segments that
//   hold kMetrics/kHealth records lose all of those records at once (the
//   file is deleted, or rewritten without them: temp file + fsync +
//   rename), oldest segment first, until the new record fits. Dropping a
//   segment's worth at a time keeps the rewrite cost to about one segment
//   per segment appended. Inventory, job and other records are never
//   dropped: if only they remain, Append exceeds the bound and logs a
//   warning. A droppable record that still does not fit is itself dropped:
//   its id is returned and counted, and Read says NotFound.
// - Acked records are dropped from the index at once; their bytes go when
//   their whole segment is acked (the file is deleted). So disk use is at
//   most live bytes plus one partly acked segment plus the active one.
// - One process at a time: Open takes an flock on `LOCK` in the directory.
//
// Thread-safe: every method takes one internal mutex (file I/O included).

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace steward {

// What a record carries; only kMetrics and kHealth may be dropped when the
// outbox is full.
enum class OutboxRecordKind : uint8_t {
  kInventory = 1,
  kMetrics = 2,
  kJobEvent = 3,
  kHealth = 4,
  kOther = 5,
};

bool IsDroppable(OutboxRecordKind kind);

struct OutboxLogOptions {
  size_t max_bytes = 64 << 20;     // bound on live (unacked) record bytes on disk, headers included
  size_t segment_bytes = 4 << 20;  // rotate the active segment past this (at most 1 GiB)
  bool sync = true;                // fdatasync after each append (acks depend on it)
};

// What recovery found, for the agent's log.
struct OutboxOpenReport {
  uint64_t records_recovered = 0;     // live (unacked, intact) records found
  uint64_t torn_tail_bytes = 0;       // bytes truncated from segment ends
  uint64_t corrupt_records = 0;       // damaged regions skipped between valid records
  std::vector<std::string> warnings;  // "FILE offset N: ..."
};

struct OutboxRecordMeta {
  uint64_t id;
  OutboxRecordKind kind;
  uint32_t size;  // payload bytes
};

// Records have ids 1, 2, 3, ... assigned by Append, never reused, persisted
// across restarts. Invariants: acked_up_to() < every pending id < next_id();
// live_bytes() is the on-disk size of the pending records.
class OutboxLog {
 public:
  // Opens (creating if needed) the outbox in `dir` and recovers it; the
  // report may be null. FailedPrecondition if another process has it open.
  static absl::StatusOr<std::unique_ptr<OutboxLog>> Open(const std::string& dir,
                                                         const OutboxLogOptions& options,
                                                         OutboxOpenReport* report);
  ~OutboxLog();
  OutboxLog(const OutboxLog&) = delete;
  OutboxLog& operator=(const OutboxLog&) = delete;

  // Durable when it returns (with sync). InvalidArgument for a bad kind or
  // a payload over 64 MiB or over max_bytes; ResourceExhausted when the
  // disk is full (nothing is written then, and the id is not used).
  absl::StatusOr<uint64_t> Append(OutboxRecordKind kind, absl::string_view payload);
  // NotFound if acked or dropped (or never assigned); DataLoss on a
  // checksum mismatch.
  absl::StatusOr<std::string> Read(uint64_t id) const;
  // Everything <= id is gone for good (persisted); whole segments deleted.
  // InvalidArgument for an id not assigned yet; acking less than
  // acked_up_to() is a no-op.
  absl::Status AckUpTo(uint64_t id);
  // Live records, ascending id (16 bytes each: prefer NextAfter to walk).
  std::vector<OutboxRecordMeta> Pending() const;
  // First live record with id > given id.
  std::optional<OutboxRecordMeta> NextAfter(uint64_t id) const;

  uint64_t next_id() const;  // id the next Append gets
  uint64_t acked_up_to() const;
  size_t live_bytes() const;
  size_t live_records() const;       // extension: number of pending records
  uint64_t dropped_records() const;  // metric/health records dropped for space, ever (persisted)

 private:
  // Index entry of one live record, 12 bytes.
  struct IndexEntry {
    uint32_t id_delta;   // id - segment first_id
    uint32_t offset;     // of the record header in the segment file
    uint32_t size_kind;  // payload size (low 28 bits), kind (high 4 bits)
    uint32_t size() const { return size_kind & 0x0FFFFFFFu; }
    OutboxRecordKind kind() const { return static_cast<OutboxRecordKind>(size_kind >> 28); }
  };
  struct Segment {
    uint64_t first_id = 0;            // from the file name
    uint64_t file_bytes = 0;          // where the next record would go
    std::vector<IndexEntry> entries;  // live records, ascending id
  };
  using SegmentMap = std::map<uint64_t, Segment>;

  OutboxLog(std::string dir, const OutboxLogOptions& options, int dir_fd, int lock_fd);

  // outbox_log_open.cc
  absl::Status Recover(OutboxOpenReport* report) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status RecoverSegment(uint64_t first_id, uint64_t id_limit, bool last,
                              uint64_t* max_id_seen, OutboxOpenReport* report)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // outbox_log.cc
  std::string SegmentPath(uint64_t first_id) const;
  absl::Status WriteStateLocked(uint64_t next_id, uint64_t acked_up_to, uint64_t dropped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status StartSegmentLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SealActiveLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsActiveLocked(const Segment& seg) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DeleteSegmentLocked(SegmentMap::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MakeRoomLocked(size_t need) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RewriteWithoutDroppableLocked(Segment* seg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteRecordLocked(OutboxRecordKind kind, absl::string_view payload)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SyncDir() const;
  static OutboxRecordMeta Meta(const Segment& seg, const IndexEntry& e);

  const std::string dir_;
  const OutboxLogOptions options_;
  const int dir_fd_;   // for fsync after creating, renaming, deleting files
  const int lock_fd_;  // holds the flock on LOCK

  mutable absl::Mutex mu_;
  SegmentMap segments_ ABSL_GUARDED_BY(mu_);
  int active_fd_ ABSL_GUARDED_BY(mu_) = -1;  // appends to the last segment; -1: start a new one
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t acked_up_to_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  size_t live_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t live_records_ ABSL_GUARDED_BY(mu_) = 0;
  bool warned_over_bound_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace steward

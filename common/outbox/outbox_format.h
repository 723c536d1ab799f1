#pragma once
// The outbox's on-disk formats, shared by OutboxLog's open and write paths
// and by its tests and fuzzer. Not part of the public API: use outbox_log.h.
//
// Record (little-endian, 17-byte header, then the payload):
//   [u32 payload length][u32 CRC-32C][u8 kind][u64 id][payload]
// The CRC covers length, kind, id and payload, so a flipped bit anywhere in
// a record (header included) is caught.
//
// Segment file: records back to back, named seg-<first id, 20 digits>.log;
// every record in it has an id >= that first id and below the next
// segment's first id, strictly increasing.
//
// State file `state` (replaced atomically, text):
//   steward-outbox-state 1
//   acked_up_to N
//   next_id N
//   dropped N

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward::outbox_internal {

inline constexpr size_t kRecordHeaderBytes = 17;
// Largest payload one record may carry (keeps size+kind in 32 bits).
inline constexpr uint32_t kMaxPayloadBytes = 64u << 20;
// Ids at or above this are treated as corrupt (leaves headroom so next_id
// can never wrap).
inline constexpr uint64_t kIdLimit = uint64_t{1} << 62;
inline constexpr uint8_t kMinKind = 1;
inline constexpr uint8_t kMaxKind = 5;

inline constexpr absl::string_view kStateFileName = "state";
inline constexpr absl::string_view kLockFileName = "LOCK";

struct RecordHeader {
  uint32_t length = 0;
  uint32_t crc = 0;
  uint8_t kind = 0;
  uint64_t id = 0;
};

void EncodeRecordHeader(uint8_t kind, uint64_t id, absl::string_view payload,
                        char out[kRecordHeaderBytes]);
RecordHeader DecodeRecordHeader(const char* p);
uint32_t RecordChecksum(uint32_t length, uint8_t kind, uint64_t id, absl::string_view payload);

// "seg-00000000000000000042.log" for 42; ParseSegmentFileName inverts it
// (nullopt for any other name).
std::string SegmentFileName(uint64_t first_id);
std::optional<uint64_t> ParseSegmentFileName(absl::string_view name);

// One valid record found by ScanSegment.
struct ScannedRecord {
  uint64_t id;
  uint8_t kind;
  uint64_t offset;  // of the header
  uint32_t size;    // payload bytes
};

// Bytes ScanSegment could not read as records: [offset, offset + length).
// `reaches_end`: no valid record follows (a torn tail when it is the last
// segment); otherwise scanning resumed at the next valid record.
struct BadRegion {
  uint64_t offset;
  uint64_t length;
  bool reaches_end;
  std::string reason;  // why the record at `offset` was rejected
};

// Walks a whole segment file's bytes. A record is valid when its header is
// complete, its kind known, its payload inside the file and its checksum
// right, and its id is in [min_id, id_limit) and above the previous valid
// record's. After an invalid record the scan resynchronises byte by byte on
// the next valid one. Calls on_record for every valid record in order;
// appends the rest to `bad`. Never reads outside `data`.
void ScanSegment(absl::string_view data, uint64_t min_id, uint64_t id_limit,
                 absl::FunctionRef<void(const ScannedRecord&)> on_record,
                 std::vector<BadRegion>* bad);

struct OutboxState {
  uint64_t acked_up_to = 0;
  uint64_t next_id = 1;
  uint64_t dropped = 0;
};
std::string EncodeState(const OutboxState& state);
// InvalidArgument naming the line when malformed.
absl::StatusOr<OutboxState> ParseState(absl::string_view text);

// A status for a failed system call on `path` (errno read here): ENOSPC,
// EDQUOT and EFBIG become ResourceExhausted, ENOENT NotFound.
absl::Status ErrnoStatus(absl::string_view what, absl::string_view path);

// Writes all of `iov` at `offset`, retrying short writes and EINTR; false
// with errno set on failure.
bool PwriteAll(int fd, struct iovec* iov, int count, off_t offset);
// Reads exactly `size` bytes at `offset`; false on error or at end of file
// (errno is 0 at end of file).
bool PreadAll(int fd, char* buf, size_t size, off_t offset);

// A read-only mapping of a whole file, so recovery and segment rewrites
// touch file-backed pages only, never the heap. Empty files map to "".
class MappedFile {
 public:
  static absl::StatusOr<MappedFile> Open(const std::string& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  MappedFile(const MappedFile&) = delete;
  ~MappedFile();
  absl::string_view data() const { return {static_cast<const char*>(addr_), size_}; }

 private:
  MappedFile(void* addr, size_t size) : addr_(addr), size_(size) {}
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace steward::outbox_internal

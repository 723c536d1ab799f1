// OutboxLog: append, read, ack. Open and recovery live in
// outbox_log_open.cc, dropping for space in outbox_log_drop.cc.
#include "common/outbox/outbox_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/log_format.h"
#include "common/outbox/outbox_format.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward {

using outbox_internal::ErrnoStatus;
using outbox_internal::kRecordHeaderBytes;

bool IsDroppable(OutboxRecordKind kind) {
  return kind == OutboxRecordKind::kMetrics || kind == OutboxRecordKind::kHealth;
}

OutboxLog::OutboxLog(std::string dir, const OutboxLogOptions& options, int dir_fd, int lock_fd)
    : dir_(std::move(dir)), options_(options), dir_fd_(dir_fd), lock_fd_(lock_fd) {}

OutboxLog::~OutboxLog() {
  absl::MutexLock lock(&mu_);
  if (active_fd_ >= 0) ::close(active_fd_);
  ::close(dir_fd_);
  ::close(lock_fd_);  // releases the flock
}

std::string OutboxLog::SegmentPath(uint64_t first_id) const {
  return absl::StrCat(dir_, "/", outbox_internal::SegmentFileName(first_id));
}

OutboxRecordMeta OutboxLog::Meta(const Segment& seg, const IndexEntry& e) {
  return OutboxRecordMeta{seg.first_id + e.id_delta, e.kind(), e.size()};
}

void OutboxLog::SyncDir() const {
  // Makes creations, renames and deletions durable. Without `sync` the
  // caller accepted losing recent changes on power loss.
  if (options_.sync) ::fsync(dir_fd_);
}

absl::Status OutboxLog::WriteStateLocked(uint64_t next_id, uint64_t acked_up_to, uint64_t dropped) {
  outbox_internal::OutboxState state{acked_up_to, next_id, dropped};
  RETURN_IF_ERROR(WriteFileAtomic(absl::StrCat(dir_, "/", outbox_internal::kStateFileName),
                                  outbox_internal::EncodeState(state), 0600));
  SyncDir();
  return absl::OkStatus();
}

bool OutboxLog::IsActiveLocked(const Segment& seg) const {
  return active_fd_ >= 0 && !segments_.empty() && &segments_.rbegin()->second == &seg;
}

void OutboxLog::SealActiveLocked() {
  if (active_fd_ < 0) return;
  ::close(active_fd_);
  active_fd_ = -1;
  segments_.rbegin()->second.entries.shrink_to_fit();
}

absl::Status OutboxLog::StartSegmentLocked() {
  SealActiveLocked();
  // A segment named after next_id_ can only be a leftover of a failed first
  // append (its id was never handed out): replace it.
  if (auto it = segments_.find(next_id_); it != segments_.end()) {
    if (!it->second.entries.empty()) {
      return absl::InternalError(absl::StrCat("outbox segment ", SegmentPath(next_id_),
                                              " already holds records at or above next id ",
                                              next_id_));
    }
    RETURN_IF_ERROR(DeleteSegmentLocked(it));
  }
  std::string path = SegmentPath(next_id_);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create outbox segment", path);
  SyncDir();
  segments_.emplace(next_id_, Segment{next_id_, 0, {}});
  active_fd_ = fd;
  return absl::OkStatus();
}

absl::Status OutboxLog::DeleteSegmentLocked(SegmentMap::iterator it) {
  if (IsActiveLocked(it->second)) SealActiveLocked();
  std::string path = SegmentPath(it->first);
  for (const IndexEntry& e : it->second.entries) {
    live_bytes_ -= kRecordHeaderBytes + e.size();
    --live_records_;
  }
  segments_.erase(it);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus("cannot delete outbox segment", path);
  }
  SyncDir();
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> OutboxLog::Append(OutboxRecordKind kind, absl::string_view payload) {
  auto k = static_cast<uint8_t>(kind);
  if (k < outbox_internal::kMinKind || k > outbox_internal::kMaxKind) {
    return absl::InvalidArgumentError(absl::StrCat("unknown outbox record kind ", k));
  }
  size_t record_bytes = kRecordHeaderBytes + payload.size();
  if (payload.size() > outbox_internal::kMaxPayloadBytes || record_bytes > options_.max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("outbox record of ", payload.size(), " bytes is over the limit of ",
                     std::min<size_t>(outbox_internal::kMaxPayloadBytes,
                                      options_.max_bytes - kRecordHeaderBytes),
                     " bytes"));
  }
  absl::MutexLock lock(&mu_);
  if (live_bytes_ + record_bytes > options_.max_bytes) {
    RETURN_IF_ERROR(MakeRoomLocked(record_bytes));
    if (live_bytes_ + record_bytes > options_.max_bytes) {
      if (IsDroppable(kind)) {
        // Nothing older can go: this record is the oldest droppable one.
        RETURN_IF_ERROR(WriteStateLocked(next_id_ + 1, acked_up_to_, dropped_ + 1));
        ++dropped_;
        return next_id_++;
      }
      if (!warned_over_bound_) {
        warned_over_bound_ = true;
        spdlog::warn(
            "outbox {}: {} live bytes of records that are never dropped exceed the bound of {} "
            "bytes; keeping them",
            dir_, live_bytes_ + record_bytes, options_.max_bytes);
      }
    }
  }
  RETURN_IF_ERROR(WriteRecordLocked(kind, payload));
  return next_id_++;
}

absl::Status OutboxLog::WriteRecordLocked(OutboxRecordKind kind, absl::string_view payload) {
  // Rotate past segment_bytes, and before ids skipped by dropped records
  // would overflow the 32-bit id delta of the index.
  if (active_fd_ < 0 || segments_.rbegin()->second.file_bytes >= options_.segment_bytes ||
      next_id_ - segments_.rbegin()->first > UINT32_MAX) {
    RETURN_IF_ERROR(StartSegmentLocked());
  }
  Segment& seg = segments_.rbegin()->second;
  char header[kRecordHeaderBytes];
  outbox_internal::EncodeRecordHeader(static_cast<uint8_t>(kind), next_id_, payload, header);
  iovec iov[2] = {{header, kRecordHeaderBytes},
                  {const_cast<char*>(payload.data()), payload.size()}};
  off_t offset = static_cast<off_t>(seg.file_bytes);
  const char* failed = nullptr;
  if (!outbox_internal::PwriteAll(active_fd_, iov, payload.empty() ? 1 : 2, offset)) {
    failed = "cannot append to";
  } else if (options_.sync && ::fdatasync(active_fd_) != 0) {
    failed = "cannot sync";
  }
  if (failed != nullptr) {
    absl::Status status =
        ErrnoStatus(absl::StrCat(failed, " outbox segment"), SegmentPath(seg.first_id));
    // Take back a partial record. If even that fails, stop appending to this
    // file: recovery reads the leftover as a torn tail.
    if (::ftruncate(active_fd_, offset) != 0) SealActiveLocked();
    return status;
  }
  seg.entries.push_back(
      IndexEntry{static_cast<uint32_t>(next_id_ - seg.first_id), static_cast<uint32_t>(offset),
                 static_cast<uint32_t>(payload.size()) | (static_cast<uint32_t>(kind) << 28)});
  seg.file_bytes += kRecordHeaderBytes + payload.size();
  live_bytes_ += kRecordHeaderBytes + payload.size();
  ++live_records_;
  return absl::OkStatus();
}

absl::StatusOr<std::string> OutboxLog::Read(uint64_t id) const {
  absl::MutexLock lock(&mu_);
  if (id <= acked_up_to_) {
    return absl::NotFoundError(absl::StrCat("outbox record ", id, " is acked"));
  }
  if (id >= next_id_) {
    return absl::NotFoundError(absl::StrCat("outbox record ", id, " is not written yet"));
  }
  auto it = segments_.upper_bound(id);
  const IndexEntry* entry = nullptr;
  if (it != segments_.begin()) {
    --it;
    uint64_t delta = id - it->first;
    const std::vector<IndexEntry>& entries = it->second.entries;
    auto e = std::lower_bound(entries.begin(), entries.end(), delta,
                              [](const IndexEntry& x, uint64_t d) { return x.id_delta < d; });
    if (e != entries.end() && e->id_delta == delta) entry = &*e;
  }
  if (entry == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("outbox record ", id, " is gone (dropped for space or lost to corruption)"));
  }
  const Segment& seg = it->second;
  std::string path = SegmentPath(seg.first_id);
  int fd = IsActiveLocked(seg) ? active_fd_ : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open outbox segment", path);
  char header[kRecordHeaderBytes];
  std::string payload(entry->size(), '\0');
  bool ok = outbox_internal::PreadAll(fd, header, kRecordHeaderBytes, entry->offset) &&
            outbox_internal::PreadAll(fd, payload.data(), payload.size(),
                                      entry->offset + kRecordHeaderBytes);
  int err = errno;
  if (fd != active_fd_) ::close(fd);
  std::string where =
      absl::StrCat("outbox segment ", path, " offset ", entry->offset, ": record ", id);
  if (!ok) {
    if (err == 0) return absl::DataLossError(absl::StrCat(where, " is cut short"));
    errno = err;
    return ErrnoStatus(absl::StrCat("cannot read record ", id, " from"), path);
  }
  outbox_internal::RecordHeader h = outbox_internal::DecodeRecordHeader(header);
  if (h.length != entry->size() || h.id != id || h.kind != static_cast<uint8_t>(entry->kind()) ||
      outbox_internal::RecordChecksum(h.length, h.kind, h.id, payload) != h.crc) {
    return absl::DataLossError(absl::StrCat(where, " fails its checksum"));
  }
  return payload;
}

absl::Status OutboxLog::AckUpTo(uint64_t id) {
  absl::MutexLock lock(&mu_);
  if (id <= acked_up_to_) return absl::OkStatus();
  if (id >= next_id_) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot ack outbox record ", id, ": the newest id is ", next_id_ - 1));
  }
  RETURN_IF_ERROR(WriteStateLocked(next_id_, id, dropped_));
  acked_up_to_ = id;
  for (auto it = segments_.begin(); it != segments_.end() && it->first <= id;) {
    Segment& seg = it->second;
    uint64_t delta = id - seg.first_id;
    auto cut =
        delta >= UINT32_MAX
            ? seg.entries.end()
            : std::upper_bound(seg.entries.begin(), seg.entries.end(), delta,
                               [](uint64_t d, const IndexEntry& x) { return d < x.id_delta; });
    for (auto e = seg.entries.begin(); e != cut; ++e) {
      live_bytes_ -= kRecordHeaderBytes + e->size();
      --live_records_;
    }
    seg.entries.erase(seg.entries.begin(), cut);
    if (!seg.entries.empty()) {
      if (!IsActiveLocked(seg)) seg.entries.shrink_to_fit();
      break;
    }
    auto next = std::next(it);
    // The ack is durable already; a file that cannot be deleted now is
    // deleted by the next Open.
    absl::Status s = DeleteSegmentLocked(it);
    if (!s.ok()) spdlog::warn("outbox {}: {}", dir_, s);
    it = next;
  }
  if (live_bytes_ <= options_.max_bytes) warned_over_bound_ = false;
  return absl::OkStatus();
}

std::vector<OutboxRecordMeta> OutboxLog::Pending() const {
  absl::MutexLock lock(&mu_);
  std::vector<OutboxRecordMeta> out;
  out.reserve(live_records_);
  for (const auto& [first, seg] : segments_) {
    for (const IndexEntry& e : seg.entries) out.push_back(Meta(seg, e));
  }
  return out;
}

std::optional<OutboxRecordMeta> OutboxLog::NextAfter(uint64_t id) const {
  absl::MutexLock lock(&mu_);
  auto it = segments_.upper_bound(id);
  if (it != segments_.begin()) {
    const Segment& seg = std::prev(it)->second;
    uint64_t delta = id - seg.first_id;
    if (delta < UINT32_MAX) {
      auto e = std::upper_bound(seg.entries.begin(), seg.entries.end(), delta,
                                [](uint64_t d, const IndexEntry& x) { return d < x.id_delta; });
      if (e != seg.entries.end()) return Meta(seg, *e);
    }
  }
  for (; it != segments_.end(); ++it) {
    if (!it->second.entries.empty()) return Meta(it->second, it->second.entries.front());
  }
  return std::nullopt;
}

uint64_t OutboxLog::next_id() const {
  absl::MutexLock lock(&mu_);
  return next_id_;
}

uint64_t OutboxLog::acked_up_to() const {
  absl::MutexLock lock(&mu_);
  return acked_up_to_;
}

size_t OutboxLog::live_bytes() const {
  absl::MutexLock lock(&mu_);
  return live_bytes_;
}

size_t OutboxLog::live_records() const {
  absl::MutexLock lock(&mu_);
  return live_records_;
}

uint64_t OutboxLog::dropped_records() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

}  // namespace steward

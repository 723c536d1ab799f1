// OutboxLog's bound: dropping the oldest metric/health records for space.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log_format.h"
#include "common/outbox/outbox_format.h"
#include "common/outbox/outbox_log.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward {

using outbox_internal::ErrnoStatus;
using outbox_internal::kRecordHeaderBytes;

absl::Status OutboxLog::MakeRoomLocked(size_t need) {
  for (auto it = segments_.begin();
       it != segments_.end() && live_bytes_ + need > options_.max_bytes;) {
    Segment& seg = it->second;
    size_t count = 0, bytes = 0;
    for (const IndexEntry& e : seg.entries) {
      if (!IsDroppable(e.kind())) continue;
      ++count;
      bytes += kRecordHeaderBytes + e.size();
    }
    if (count == 0) {
      ++it;
      continue;
    }
    if (IsActiveLocked(seg)) SealActiveLocked();
    // Count first: a crash after the files change must not under-count, nor
    // let a restart hand out the dropped ids again.
    RETURN_IF_ERROR(WriteStateLocked(next_id_, acked_up_to_, dropped_ + count));
    spdlog::warn("outbox {}: full ({} of {} bytes); dropping {} metric/health records from {}",
                 dir_, live_bytes_, options_.max_bytes, count,
                 outbox_internal::SegmentFileName(seg.first_id));
    if (count == seg.entries.size()) {
      auto next = std::next(it);
      absl::Status s = DeleteSegmentLocked(it);  // updates live_bytes_
      if (!s.ok()) spdlog::warn("outbox {}: {}", dir_, s);
      dropped_ += count;
      it = next;
      continue;
    }
    absl::Status s = RewriteWithoutDroppableLocked(&seg);
    if (!s.ok()) {
      // Nothing was dropped: put the count back (best effort).
      WriteStateLocked(next_id_, acked_up_to_, dropped_).IgnoreError();
      return s;
    }
    dropped_ += count;
    live_bytes_ -= bytes;
    live_records_ -= count;
    ++it;
  }
  if (live_bytes_ + need <= options_.max_bytes) warned_over_bound_ = false;
  return absl::OkStatus();
}

absl::Status OutboxLog::RewriteWithoutDroppableLocked(Segment* seg) {
  std::string path = SegmentPath(seg->first_id);
  std::string tmp = path + ".tmp";
  ASSIGN_OR_RETURN(outbox_internal::MappedFile src, outbox_internal::MappedFile::Open(path));
  absl::string_view data = src.data();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create", tmp);
  std::vector<IndexEntry> kept;
  uint64_t out = 0;
  absl::Status status;
  // Copies the run of kept records [run_start, run_end) in one write.
  uint64_t run_start = 0, run_end = 0;
  auto flush = [&]() -> bool {
    if (run_end == run_start) return true;
    iovec iov{const_cast<char*>(data.data() + run_start), run_end - run_start};
    if (!outbox_internal::PwriteAll(fd, &iov, 1, static_cast<off_t>(out))) return false;
    out += run_end - run_start;
    return true;
  };
  for (const IndexEntry& e : seg->entries) {
    if (IsDroppable(e.kind())) continue;
    uint64_t len = kRecordHeaderBytes + e.size();
    if (e.offset + len > data.size()) {
      status = absl::DataLossError(absl::StrCat("outbox segment ", path, " offset ", e.offset,
                                                ": file is shorter than its records"));
      break;
    }
    if (e.offset != run_end) {
      if (!flush()) {
        status = ErrnoStatus("cannot write", tmp);
        break;
      }
      run_start = run_end = e.offset;
    }
    // Its offset in the new file: what is written plus the run so far.
    kept.push_back(
        IndexEntry{e.id_delta, static_cast<uint32_t>(out + (run_end - run_start)), e.size_kind});
    run_end += len;
  }
  if (status.ok() && !flush()) status = ErrnoStatus("cannot write", tmp);
  // Always sync the copy, even without `sync`: the rename must never
  // replace older records with an empty file.
  if (status.ok() && ::fdatasync(fd) != 0) status = ErrnoStatus("cannot sync", tmp);
  ::close(fd);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus("cannot rename onto", path);
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  SyncDir();
  kept.shrink_to_fit();
  seg->entries = std::move(kept);
  seg->file_bytes = out;
  return absl::OkStatus();
}

}  // namespace steward

// OutboxLog::Open: locking the directory, reading the state file, and
// verifying every segment (torn tails truncated, corruption skipped).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/outbox/outbox_format.h"
#include "common/outbox/outbox_log.h"
#include "common/status_macros.h"

namespace steward {

using outbox_internal::ErrnoStatus;
using outbox_internal::kRecordHeaderBytes;

namespace {

// A corrupt directory must not flood the agent's log.
constexpr size_t kMaxWarnings = 64;

void Warn(OutboxOpenReport* report, std::string text) {
  if (report->warnings.size() < kMaxWarnings) {
    report->warnings.push_back(std::move(text));
  } else if (report->warnings.size() == kMaxWarnings) {
    report->warnings.push_back("more warnings left out");
  }
}

constexpr size_t kMaxSegmentBytes = size_t{1} << 30;

}  // namespace

absl::StatusOr<std::unique_ptr<OutboxLog>> OutboxLog::Open(const std::string& dir,
                                                           const OutboxLogOptions& options,
                                                           OutboxOpenReport* report) {
  OutboxOpenReport ignored;
  if (report == nullptr) report = &ignored;
  *report = OutboxOpenReport();
  if (options.segment_bytes == 0 || options.segment_bytes > kMaxSegmentBytes) {
    return absl::InvalidArgumentError(absl::StrCat("outbox segment_bytes ", options.segment_bytes,
                                                   " is outside [1, ", kMaxSegmentBytes, "]"));
  }
  if (options.max_bytes <= kRecordHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("outbox max_bytes ", options.max_bytes, " leaves no room for a record"));
  }
  RETURN_IF_ERROR(MakeDirs(dir, 0700));
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return ErrnoStatus("cannot open outbox directory", dir);
  std::string lock_path = absl::StrCat(dir, "/", outbox_internal::kLockFileName);
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    absl::Status s = ErrnoStatus("cannot open", lock_path);
    ::close(dir_fd);
    return s;
  }
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    absl::Status s = errno == EWOULDBLOCK
                         ? absl::FailedPreconditionError(absl::StrCat(
                               "outbox ", dir, " is in use (", lock_path, " is locked)"))
                         : ErrnoStatus("cannot lock", lock_path);
    ::close(lock_fd);
    ::close(dir_fd);
    return s;
  }
  std::unique_ptr<OutboxLog> log(new OutboxLog(dir, options, dir_fd, lock_fd));
  RETURN_IF_ERROR(log->Recover(report));
  return log;
}

absl::Status OutboxLog::Recover(OutboxOpenReport* report) {
  absl::MutexLock lock(&mu_);
  outbox_internal::OutboxState state;
  std::string state_path = absl::StrCat(dir_, "/", outbox_internal::kStateFileName);
  absl::StatusOr<std::string> text = ReadFile(state_path);
  if (text.ok()) {
    absl::StatusOr<outbox_internal::OutboxState> parsed = outbox_internal::ParseState(*text);
    if (parsed.ok()) {
      state = *parsed;
    } else {
      // Acked records may come back (the collector skips what it applied);
      // ids restart after the newest record still on disk.
      Warn(report, absl::StrCat(outbox_internal::kStateFileName, " ", parsed.status().message(),
                                "; ignored, acks and the drop count restart from the segments"));
    }
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  }
  acked_up_to_ = state.acked_up_to;
  dropped_ = state.dropped;

  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return ErrnoStatus("cannot list outbox directory", dir_);
  std::vector<std::string> names;
  while (dirent* ent = ::readdir(d)) names.emplace_back(ent->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());

  std::vector<uint64_t> segment_ids;
  for (const std::string& name : names) {
    if (name == "." || name == ".." || name == outbox_internal::kLockFileName ||
        name == outbox_internal::kStateFileName) {
      continue;
    }
    if (absl::StartsWith(name, "state.tmp.") ||
        (absl::StartsWith(name, "seg-") && absl::EndsWith(name, ".log.tmp"))) {
      std::string path = absl::StrCat(dir_, "/", name);
      if (::unlink(path.c_str()) != 0) {
        Warn(report, absl::StrCat(name, ": cannot remove leftover temporary file: ",
                                  ErrnoStatus("unlink", path).message()));
      } else {
        Warn(report, absl::StrCat(name, ": removed a temporary file left by an interrupted write"));
      }
      continue;
    }
    std::optional<uint64_t> id = outbox_internal::ParseSegmentFileName(name);
    if (id.has_value() && *id > 0 && *id < outbox_internal::kIdLimit) {
      // An empty segment (a crash right after creating it) holds nothing,
      // and must not narrow the id range of the segment before it.
      std::string path = absl::StrCat(dir_, "/", name);
      struct stat st;
      if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
        ::unlink(path.c_str());
        continue;
      }
      segment_ids.push_back(*id);
    } else {
      Warn(report, absl::StrCat(name, ": not an outbox file, ignored"));
    }
  }
  // Names with 20 digits sort like their ids.
  uint64_t max_id_seen = 0;
  for (size_t i = 0; i < segment_ids.size(); ++i) {
    uint64_t first = segment_ids[i];
    uint64_t limit = i + 1 < segment_ids.size() ? segment_ids[i + 1] : outbox_internal::kIdLimit;
    limit = std::min<uint64_t>(limit, first + UINT32_MAX);  // index deltas are 32 bits
    RETURN_IF_ERROR(
        RecoverSegment(first, limit, i + 1 == segment_ids.size(), &max_id_seen, report));
  }
  next_id_ = std::max({state.next_id, max_id_seen + 1, acked_up_to_ + 1});
  report->records_recovered = live_records_;
  SyncDir();
  return absl::OkStatus();
}

absl::Status OutboxLog::RecoverSegment(uint64_t first_id, uint64_t id_limit, bool last,
                                       uint64_t* max_id_seen, OutboxOpenReport* report) {
  std::string name = outbox_internal::SegmentFileName(first_id);
  std::string path = SegmentPath(first_id);
  Segment seg{first_id, 0, {}};
  std::vector<outbox_internal::BadRegion> bad;
  // Plain locals: the scan callback is a lambda, outside the lock analysis.
  const uint64_t acked = acked_up_to_;
  uint64_t live_bytes = 0, live_records = 0;
  {
    ASSIGN_OR_RETURN(outbox_internal::MappedFile map, outbox_internal::MappedFile::Open(path));
    seg.file_bytes = map.data().size();
    outbox_internal::ScanSegment(
        map.data(), first_id, id_limit,
        [&](const outbox_internal::ScannedRecord& r) {
          *max_id_seen = std::max(*max_id_seen, r.id);
          if (r.id <= acked) return;
          if (r.offset > UINT32_MAX) {  // only a segment written by something else
            ++report->corrupt_records;
            Warn(report, absl::StrCat(name, " offset ", r.offset, ": record ", r.id,
                                      " lies past 4 GiB; skipped"));
            return;
          }
          seg.entries.push_back(IndexEntry{static_cast<uint32_t>(r.id - first_id),
                                           static_cast<uint32_t>(r.offset),
                                           r.size | (uint32_t{r.kind} << 28)});
          live_bytes += kRecordHeaderBytes + r.size;
          ++live_records;
        },
        &bad);
  }
  live_bytes_ += live_bytes;
  live_records_ += live_records;
  bool damaged = false;  // do not append after bytes that are not records
  uint64_t keep_bytes = seg.file_bytes;
  for (const outbox_internal::BadRegion& r : bad) {
    if (r.reaches_end) {
      keep_bytes = r.offset;
      report->torn_tail_bytes += r.length;
      Warn(report, absl::StrCat(name, " offset ", r.offset, ": ", r.reason, "; torn tail of ",
                                r.length, " bytes truncated"));
    } else {
      ++report->corrupt_records;
      damaged = true;
      Warn(report, absl::StrCat(name, " offset ", r.offset, ": ", r.reason, "; skipped ", r.length,
                                " bytes up to the next valid record"));
    }
  }
  if (keep_bytes < seg.file_bytes) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(keep_bytes)) != 0) {
      Warn(report, absl::StrCat(name, ": ", ErrnoStatus("cannot truncate", path).message()));
      damaged = true;
    } else {
      seg.file_bytes = keep_bytes;
      if (options_.sync) ::fdatasync(fd);
    }
    if (fd >= 0) ::close(fd);
  }
  if (seg.entries.empty()) {
    // Everything in it is acked (or it holds nothing readable): the ids it
    // covered are accounted for in max_id_seen.
    if (::unlink(path.c_str()) != 0) {
      Warn(report, absl::StrCat(name, ": ", ErrnoStatus("cannot delete", path).message()));
    }
    return absl::OkStatus();
  }
  seg.entries.shrink_to_fit();
  Segment& placed = segments_.emplace(first_id, std::move(seg)).first->second;
  if (last && !damaged && placed.file_bytes < options_.segment_bytes) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("cannot open outbox segment", path);
    active_fd_ = fd;
  }
  return absl::OkStatus();
}

}  // namespace steward

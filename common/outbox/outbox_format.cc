#include "common/outbox/outbox_format.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/outbox/crc32c.h"

namespace steward::outbox_internal {
namespace {

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

constexpr absl::string_view kSegmentPrefix = "seg-";
constexpr absl::string_view kSegmentSuffix = ".log";
constexpr size_t kSegmentIdDigits = 20;
constexpr absl::string_view kStateMagic = "steward-outbox-state 1";

enum class Problem { kNone, kShortHeader, kKind, kTooLong, kPastEnd, kChecksum, kIdRange };

// Whether the record at `pos` is valid; *h holds whatever header was read.
// Cheap on failure: resynchronisation calls it at every byte offset.
Problem CheckRecord(absl::string_view data, uint64_t pos, uint64_t min_id, uint64_t id_limit,
                    RecordHeader* h) {
  uint64_t left = data.size() - pos;
  if (left < kRecordHeaderBytes) return Problem::kShortHeader;
  *h = DecodeRecordHeader(data.data() + pos);
  if (h->kind < kMinKind || h->kind > kMaxKind) return Problem::kKind;
  if (h->length > kMaxPayloadBytes) return Problem::kTooLong;
  if (h->length > left - kRecordHeaderBytes) return Problem::kPastEnd;
  // The id check is cheaper than the checksum, but a checksum mismatch is
  // the more useful diagnosis when both fail; order only matters for the
  // message, so check the range first and re-check for the reason.
  if (h->id < min_id || h->id >= id_limit) {
    if (RecordChecksum(h->length, h->kind, h->id,
                       data.substr(pos + kRecordHeaderBytes, h->length)) != h->crc) {
      return Problem::kChecksum;
    }
    return Problem::kIdRange;
  }
  if (RecordChecksum(h->length, h->kind, h->id, data.substr(pos + kRecordHeaderBytes, h->length)) !=
      h->crc) {
    return Problem::kChecksum;
  }
  return Problem::kNone;
}

std::string Describe(Problem p, const RecordHeader& h, uint64_t left, uint64_t min_id,
                     uint64_t id_limit) {
  switch (p) {
    case Problem::kNone:
      return "valid";
    case Problem::kShortHeader:
      return absl::StrCat("incomplete record header (", left, " bytes)");
    case Problem::kKind:
      return absl::StrCat("unknown record kind ", h.kind);
    case Problem::kTooLong:
      return absl::StrCat("payload length ", h.length, " exceeds the limit of ", kMaxPayloadBytes);
    case Problem::kPastEnd:
      return absl::StrCat("record of ", h.length, " payload bytes runs past the end of the file (",
                          left - kRecordHeaderBytes, " bytes left)");
    case Problem::kChecksum:
      return absl::StrCat("checksum mismatch in record claiming id ", h.id);
    case Problem::kIdRange:
      return absl::StrCat("record id ", h.id, " outside the expected range [", min_id, ", ",
                          id_limit, ")");
  }
  return "unknown problem";
}

}  // namespace

void EncodeRecordHeader(uint8_t kind, uint64_t id, absl::string_view payload,
                        char out[kRecordHeaderBytes]) {
  uint32_t length = static_cast<uint32_t>(payload.size());
  PutU32(out, length);
  PutU32(out + 4, RecordChecksum(length, kind, id, payload));
  out[8] = static_cast<char>(kind);
  PutU64(out + 9, id);
}

RecordHeader DecodeRecordHeader(const char* p) {
  RecordHeader h;
  h.length = GetU32(p);
  h.crc = GetU32(p + 4);
  h.kind = static_cast<uint8_t>(p[8]);
  h.id = GetU64(p + 9);
  return h;
}

uint32_t RecordChecksum(uint32_t length, uint8_t kind, uint64_t id, absl::string_view payload) {
  char fields[13];
  PutU32(fields, length);
  fields[4] = static_cast<char>(kind);
  PutU64(fields + 5, id);
  return Crc32cExtend(Crc32c(absl::string_view(fields, sizeof fields)), payload);
}

std::string SegmentFileName(uint64_t first_id) {
  return absl::StrFormat("seg-%020u.log", first_id);
}

std::optional<uint64_t> ParseSegmentFileName(absl::string_view name) {
  if (name.size() != kSegmentPrefix.size() + kSegmentIdDigits + kSegmentSuffix.size() ||
      !absl::StartsWith(name, kSegmentPrefix) || !absl::EndsWith(name, kSegmentSuffix)) {
    return std::nullopt;
  }
  absl::string_view digits = name.substr(kSegmentPrefix.size(), kSegmentIdDigits);
  for (char c : digits) {
    if (!absl::ascii_isdigit(c)) return std::nullopt;
  }
  uint64_t id = 0;
  if (!absl::SimpleAtoi(digits, &id)) return std::nullopt;
  return id;
}

void ScanSegment(absl::string_view data, uint64_t min_id, uint64_t id_limit,
                 absl::FunctionRef<void(const ScannedRecord&)> on_record,
                 std::vector<BadRegion>* bad) {
  uint64_t pos = 0;
  uint64_t next_min = min_id;
  RecordHeader h;
  while (pos < data.size()) {
    Problem problem = CheckRecord(data, pos, next_min, id_limit, &h);
    if (problem == Problem::kNone) {
      on_record(ScannedRecord{h.id, h.kind, pos, h.length});
      pos += kRecordHeaderBytes + h.length;
      next_min = h.id + 1;
      continue;
    }
    std::string reason = Describe(problem, h, data.size() - pos, next_min, id_limit);
    // Resynchronise: the first later offset holding a valid record.
    uint64_t resume = pos + 1;
    while (resume + kRecordHeaderBytes <= data.size() &&
           CheckRecord(data, resume, next_min, id_limit, &h) != Problem::kNone) {
      ++resume;
    }
    bool reaches_end = resume + kRecordHeaderBytes > data.size();
    if (reaches_end) resume = data.size();
    bad->push_back(BadRegion{pos, resume - pos, reaches_end, std::move(reason)});
    pos = resume;
  }
}

std::string EncodeState(const OutboxState& s) {
  return absl::StrCat(kStateMagic, "\nacked_up_to ", s.acked_up_to, "\nnext_id ", s.next_id,
                      "\ndropped ", s.dropped, "\n");
}

absl::StatusOr<OutboxState> ParseState(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.empty() || lines[0] != kStateMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat("line 1: expected '", kStateMagic, "' (not an outbox state file)"));
  }
  OutboxState s;
  bool have_acked = false, have_next = false, have_dropped = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(lines[i], ' ');
    uint64_t v = 0;
    if (!absl::SimpleAtoi(kv.second, &v) || v >= kIdLimit) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", i + 1, ": '", kv.second, "' is not a valid count"));
    }
    if (kv.first == "acked_up_to") {
      s.acked_up_to = v;
      have_acked = true;
    } else if (kv.first == "next_id") {
      s.next_id = v;
      have_next = true;
    } else if (kv.first == "dropped") {
      s.dropped = v;
      have_dropped = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", i + 1, ": unknown key '", kv.first, "'"));
    }
  }
  if (!have_acked || !have_next || !have_dropped) {
    return absl::InvalidArgumentError("missing one of acked_up_to, next_id, dropped");
  }
  if (s.next_id <= s.acked_up_to) {
    return absl::InvalidArgumentError(
        absl::StrCat("next_id ", s.next_id, " is not above acked_up_to ", s.acked_up_to));
  }
  return s;
}

// Writes all of `iov` at `offset`, retrying short writes and EINTR.
bool PwriteAll(int fd, iovec* iov, int count, off_t offset) {
  while (count > 0) {
    ssize_t n = ::pwritev(fd, iov, count, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    offset += n;
    size_t left = static_cast<size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

// Reads exactly `size` bytes at `offset`; false on error or end of file
// (errno is 0 at end of file).
bool PreadAll(int fd, char* buf, size_t size, off_t offset) {
  while (size > 0) {
    ssize_t n = ::pread(fd, buf, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = 0;
      return false;
    }
    buf += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

absl::Status ErrnoStatus(absl::string_view what, absl::string_view path) {
  int err = errno;
  std::string msg = absl::StrCat(what, " ", path, ": ", strerror(err));
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return absl::ResourceExhaustedError(msg);
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::StatusOr<MappedFile> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = ErrnoStatus("cannot stat", path);
    ::close(fd);
    return s;
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return MappedFile(nullptr, 0);
  }
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  absl::Status s = addr == MAP_FAILED ? ErrnoStatus("cannot map", path) : absl::OkStatus();
  ::close(fd);
  if (!s.ok()) return s;
  ::madvise(addr, size, MADV_SEQUENTIAL);
  return MappedFile(addr, size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile::~MappedFile() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
}

}  // namespace steward::outbox_internal

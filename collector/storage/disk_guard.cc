#include "collector/storage/disk_guard.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spdlog/spdlog.h"

namespace steward::collector {

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(bytes, " B");
  return v >= 100 ? absl::StrFormat("%.0f %s", v, kUnits[unit]) : absl::StrFormat("%.1f %s", v, kUnits[unit]);
}

absl::StatusOr<uint64_t> DiskGuard::StatvfsFreeBytes(const std::string& dir) {
  struct statvfs st;
  if (statvfs(dir.c_str(), &st) != 0) {
    return absl::UnavailableError(absl::StrCat("statvfs ", dir, ": ", std::strerror(errno)));
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

DiskGuard::DiskGuard(std::vector<std::string> dirs, uint64_t min_free_bytes, FreeBytes free_bytes)
    : dirs_(std::move(dirs)), min_free_bytes_(min_free_bytes), free_bytes_(std::move(free_bytes)) {}

absl::Status DiskGuard::CheckIngest() {
  if (min_free_bytes_ == 0) return absl::OkStatus();
  std::string why;
  for (const std::string& dir : dirs_) {
    absl::StatusOr<uint64_t> free = free_bytes_(dir);
    // A filesystem that cannot be asked is not called full: the writes
    // themselves will say what is wrong.
    if (!free.ok() || *free >= min_free_bytes_) continue;
    why = absl::StrCat("collector disk full: ", HumanBytes(*free), " free on ", dir, ", below the reserve of ",
                       HumanBytes(min_free_bytes_),
                       " (--min-free-disk); new data is refused until space is freed, agents keep theirs and "
                       "retry");
    break;
  }
  absl::MutexLock lock(&mu_);
  if (why.empty()) {
    if (full_) {
      full_ = false;
      spdlog::info("collector disk has space again after {} ({} writes refused meanwhile); ingest resumes",
                   absl::FormatDuration(absl::Trunc(absl::Now() - full_since_, absl::Seconds(1))), refused_);
    }
    return absl::OkStatus();
  }
  if (!full_) {
    full_ = true;
    full_since_ = absl::Now();
    refused_ = 0;
    spdlog::error("{}. Free space on that filesystem (or raise it) to resume; queries still answer", why);
  }
  ++refused_;
  return absl::ResourceExhaustedError(why);
}

bool DiskGuard::full() const {
  absl::MutexLock lock(&mu_);
  return full_;
}

}  // namespace steward::collector

#pragma once
// Refuses new data while the collector's disk is nearly full, before
// RocksDB runs into ENOSPC. Debian's RocksDB 7.8 aborts the process on the
// second write after a failed WAL append (an assertion the Debian build
// keeps; upstream rocksdb#12448), so "answer RESOURCE_EXHAUSTED and carry
// on" has to happen before the disk is full, not after. Like
// VictoriaMetrics' -storage.minFreeDiskSpaceBytes: below the reserve,
// ingest stops (agents keep their data and retry), reads go on, and the
// collector's own upkeep (flushes, compactions, head persistence, WAL
// truncation) runs on the reserve. Ingest resumes by itself as soon as the
// free space is back above the reserve. Thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace steward::collector {

class DiskGuard {
 public:
  // Bytes available on a directory's filesystem (statvfs f_bavail), or an
  // error; tests inject their own.
  using FreeBytes = std::function<absl::StatusOr<uint64_t>(const std::string& dir)>;

  // dirs: the directories whose filesystems hold the stores. min_free_bytes
  // 0 turns the guard off.
  DiskGuard(std::vector<std::string> dirs, uint64_t min_free_bytes, FreeBytes free_bytes = StatvfsFreeBytes);

  // OK while every directory's filesystem has at least min_free_bytes
  // available; otherwise ResourceExhausted naming the directory, the free
  // space and the reserve. Looks at the filesystems on every call (one
  // statvfs each, ~1 us), so the answer follows the disk at once. Logs the
  // moment the disk fills and the moment space is back.
  absl::Status CheckIngest();

  // Whether the last check found the disk full.
  bool full() const;

  static absl::StatusOr<uint64_t> StatvfsFreeBytes(const std::string& dir);

 private:
  const std::vector<std::string> dirs_;
  const uint64_t min_free_bytes_;
  const FreeBytes free_bytes_;
  mutable absl::Mutex mu_;
  bool full_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time full_since_ ABSL_GUARDED_BY(mu_);
  uint64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
};

// "3.1 MiB", "512 MiB", "2.0 GiB": sizes in messages.
std::string HumanBytes(uint64_t bytes);

}  // namespace steward::collector

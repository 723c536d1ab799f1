#pragma once
// Core dumps recorded by systemd-coredump, a crash signal for process and
// systemd checks. systemd-coredump (Storage=external, the default) writes
// each dump to /var/lib/systemd/coredump as
//   core.COMM.UID.BOOT_ID.PID.USEC[.zst|.xz|.lz4]
// where COMM is the process name with '.', '/' and ' ' escaped as \xNN,
// BOOT_ID 32 hex digits and USEC the crash time in microseconds since the
// epoch. The agent reads the directory listing only (never the dumps, which
// are root-only and large), so the signal costs one stat(2) per check run
// and one readdir when the directory changed. Dumps kept only in the
// journal (Storage=journal) are not seen; docs/operations.md says so.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace steward::agent {

// The default directory of systemd-coredump's external storage.
inline constexpr char kDefaultCoredumpDir[] = "/var/lib/systemd/coredump";

// Longest process name the kernel keeps (TASK_COMM_LEN - 1); /proc/PID/comm
// and the dump file names carry names cut to this length.
inline constexpr size_t kMaxCommBytes = 15;

// One dump, as its file name describes it. Plain value type.
struct CoredumpRecord {
  std::string comm;  // Unescaped process name.
  uint32_t uid = 0;
  std::string boot_id;  // 32 lowercase hex digits.
  int64_t pid = 0;
  absl::Time time;

  friend bool operator==(const CoredumpRecord&, const CoredumpRecord&) = default;
};

// Parses one file name of the store. nullopt with `*why` set for names that
// are not a dump ("not a core dump file name", "pid 'x' is not a number",
// ...), including systemd's in-progress temporary files (".#core...").
// Pure and thread-safe.
std::optional<CoredumpRecord> ParseCoredumpFileName(absl::string_view name, std::string* why);

// `name` cut to kMaxCommBytes, as the kernel reports it.
std::string CommOf(absl::string_view name);

// The dump store of one host, shared by all checks of an agent. Lists the
// directory again only when its modification time, change time or inode
// changed, so a run with nothing new costs one stat(2). A missing directory
// (no systemd-coredump) is an empty store, silently; unreadable files names
// are skipped with one warning each in the agent log.
// Thread-safe.
class CoredumpStore {
 public:
  explicit CoredumpStore(std::string dir = kDefaultCoredumpDir);

  // Dumps of processes named `comm` (compared cut to kMaxCommBytes) at or
  // after `since`, oldest first.
  std::vector<CoredumpRecord> DumpsOf(absl::string_view comm, absl::Time since);

  // Distinct malformed file names seen since the store was created.
  uint64_t skipped_names() const;

  const std::string& dir() const { return dir_; }

 private:
  void RefreshLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  mutable absl::Mutex mu_;
  // Identity of the listing in records_: st_ino, st_mtim and st_ctim.
  std::optional<std::vector<int64_t>> listed_stamp_ ABSL_GUARDED_BY(mu_);
  std::vector<CoredumpRecord> records_ ABSL_GUARDED_BY(mu_);  // Sorted by time.
  uint64_t skipped_names_ ABSL_GUARDED_BY(mu_) = 0;
  // Malformed names of the last listing, each warned about once.
  std::set<std::string> bad_names_ ABSL_GUARDED_BY(mu_);
};

// "pid 4242 at 2026-11-23T10:00:00Z" for reasons.
std::string DescribeDump(const CoredumpRecord& dump);

// The core dumps of one check's program(s): those within the check's
// restart window, and a counter of the dumps that appeared since the check
// was created (app_coredumps_total). A null store means no dumps.
// Thread safety: one caller at a time (a check's Run()).
class CoredumpTracker {
 public:
  CoredumpTracker(std::shared_ptr<CoredumpStore> store, absl::Time created);

  // Dumps of any of `comms` made in [now - window, now], oldest first;
  // counts the ones not seen before.
  std::vector<CoredumpRecord> Recent(const std::set<std::string>& comms, absl::Time now,
                                     absl::Duration window);

  uint64_t total() const { return total_; }

 private:
  std::shared_ptr<CoredumpStore> store_;
  absl::Time created_;
  uint64_t total_ = 0;
  // (pid, time) of the dumps counted that are still within the window.
  std::set<std::pair<int64_t, absl::Time>> counted_;
};

// "dumped core 2 times in the last 10m (latest: pid 4242 at ...)".
std::string DescribeRecentDumps(const std::vector<CoredumpRecord>& dumps, absl::Duration window);

}  // namespace steward::agent

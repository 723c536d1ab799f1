#pragma once
// Online backup of a collector's data directory, and its restore
// (docs/backup.md).
//
// A backup directory holds:
//   db/     RocksDB checkpoint of the store (collector/storage)
//   tsdb/   RocksDB checkpoint of the time series, taken after its heads
//           were persisted (collector/tsdb)
//   ca.pem, admin.conf, pki/*   the CA, server and admin credentials
//   artifacts/blobs/*           pushed artifacts' content
//   MANIFEST                    backup_manifest.h, with every file's SHA-256
//
// Order matters for consistency across the two databases: an agent's
// samples are appended to the TSDB before the store records the envelope as
// applied (session_reactor.cc), so the store is checkpointed first and the
// TSDB after it. Every envelope the store's copy counts as applied then has
// its samples in the TSDB's copy; an envelope after that point is resent by
// its agent after a restore (and samples the TSDB already has are dropped
// as duplicates).
//
// Functions, no state; safe to call while the collector serves.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/backup/backup_manifest.h"

namespace steward::collector {

class Store;
namespace tsdb {
class TsdbStore;
}  // namespace tsdb

// What a backup copies from: the live collector's open databases and its
// data directory (for the credential and artifact files).
struct BackupSources {
  std::string data_dir;
  Store* store = nullptr;
  tsdb::TsdbStore* metrics = nullptr;  // null: a collector without time series
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

struct BackupSummary {
  std::string path;
  uint64_t bytes = 0;
  uint64_t files = 0;
  absl::Duration duration;
  BackupManifest manifest;
};

// Writes a backup into `to`, which must be an absolute path that does not
// exist or is an empty directory (InvalidArgument / FailedPrecondition
// naming it otherwise). One backup at a time per process: while one is
// written, another is refused with FAILED_PRECONDITION naming where the
// first one goes (two at once would double the disk and I/O load for no
// gain).
absl::StatusOr<BackupSummary> WriteBackup(const BackupSources& sources, const std::string& to);

// The one-at-a-time slot WriteBackup takes; held from Acquire until
// destroyed. Exposed for tests (a backup "already running").
class BackupSlot {
 public:
  static absl::StatusOr<BackupSlot> Acquire(const std::string& to);
  BackupSlot(BackupSlot&& other) noexcept : held_(other.held_) { other.held_ = false; }
  BackupSlot& operator=(BackupSlot&&) = delete;
  ~BackupSlot();

 private:
  BackupSlot() = default;
  bool held_ = false;
};

// Reads BACKUP_DIR/MANIFEST and checks every file it lists (present, size,
// SHA-256). DataLoss naming the first bad file.
absl::StatusOr<BackupManifest> VerifyBackup(const std::string& dir);

struct RestoreSummary {
  BackupManifest manifest;
  uint64_t bytes = 0;
  uint64_t files = 0;
  absl::Duration duration;
};

// Verifies the backup in `from`, then copies it into `data_dir`, which must
// not exist or be empty, and opens the restored databases once (which runs
// the storage-format migration). The collector then starts on `data_dir`
// as usual.
absl::StatusOr<RestoreSummary> RestoreBackup(const std::string& from, const std::string& data_dir);

}  // namespace steward::collector

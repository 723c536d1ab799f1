#pragma once
// The manifest of a collector backup: BACKUP_DIR/MANIFEST, key = value lines
// then one line per file:
//
//   format = 1
//   collector_version = 0.1.0 (commit 2f68bd9)
//   created_unix_ms = 1700000000000
//   store_sequence = 1234        (the store checkpoint's RocksDB sequence)
//   tsdb_sequence = 5678         (the time-series checkpoint's)
//   storage_format = 1           (Store::kStorageFormat of the writer)
//   bytes = 123456               (sum of the files' sizes)
//   file <sha256 hex> <size> <path relative to BACKUP_DIR>
//
// A plain value; Parse refuses a manifest that is not exactly this shape.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward::collector {

inline constexpr char kBackupManifestName[] = "MANIFEST";
inline constexpr int kBackupFormat = 1;

struct BackupManifest {
  struct File {
    std::string path;  // relative, '/'-separated, no "..", no leading '/'
    uint64_t size = 0;
    std::string sha256;  // lower-case hex
  };
  int format = kBackupFormat;
  std::string collector_version;
  int64_t created_unix_ms = 0;
  uint64_t store_sequence = 0;
  uint64_t tsdb_sequence = 0;
  uint32_t storage_format = 0;
  uint64_t bytes = 0;
  std::vector<File> files;

  std::string Serialize() const;
  // Errors name the line and what is wrong with it.
  static absl::StatusOr<BackupManifest> Parse(absl::string_view text);
};

}  // namespace steward::collector

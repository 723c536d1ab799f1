#pragma once
// File-system helpers shared by the inventory sources: host paths under a
// fake root, stat stamps for fingerprints, directory listings and globs.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward::agent {

// `host_path` (absolute, as the host sees it) resolved under `root`.
std::string UnderRoot(absl::string_view root, absl::string_view host_path);

// What the sources need from stat(2).
struct FileStat {
  int64_t mtime_ns = 0;
  int64_t mtime_unix = 0;
  int64_t ctime_unix = 0;
  uint64_t size = 0;
  bool is_dir = false;
  bool is_regular = false;
  bool is_symlink = false;  // Only with follow_symlinks = false.
};

// stat (or lstat) of `path`; nullopt when it does not exist or cannot be read.
std::optional<FileStat> StatPath(const std::string& path, bool follow_symlinks = true);

// "LABEL mtime_ns size\n" for the fingerprints; "" when `path` is absent.
// `label` is what the fingerprint shows (normally the host path).
std::string StatStamp(const std::string& path, absl::string_view label,
                      bool follow_symlinks = true);

// Expands a host-path pattern whose components may use fnmatch(3) wildcards
// ("/usr/lib/python3*/site-packages") under `root`. Returns the matching
// directories as host paths, sorted; unreadable directories on the way are
// skipped. Hidden entries match only a pattern component starting with '.'.
std::vector<std::string> GlobDirs(absl::string_view root, absl::string_view pattern);

// The target of symlink `path`; nullopt when it is not a readable symlink.
std::optional<std::string> ReadSymlink(const std::string& path);

}  // namespace steward::agent

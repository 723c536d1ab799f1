#pragma once
// Small, checked file helpers shared by agent, collector and stewardctl.

#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace steward {

// Reads the whole file. Errors name the path and the errno text.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` atomically (temp file + fsync + rename) with the
// given permission bits, so a crash never leaves a half-written file.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, int mode = 0644);

// Creates the directory and its parents (mode applies to created ones).
absl::Status MakeDirs(const std::string& path, int mode = 0755);

bool FileExists(const std::string& path);

// Names in `dir` (no "." or ".."), sorted. NotFound when `dir` does not
// exist; another error when it is not a readable directory or reading it
// fails midway.
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir);

}  // namespace steward

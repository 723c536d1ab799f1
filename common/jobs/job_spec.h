#pragma once
// What makes a JobSpec acceptable, checked by the collector before it
// stores a job and by the agent before it runs one (the agent trusts no
// collector with paths, argv or unit names).

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "steward/v1/types.pb.h"

namespace steward {

inline constexpr size_t kMaxConfigBytes = 1 << 20;
inline constexpr int64_t kDefaultScriptTimeoutMs = 5 * 60 * 1000;
inline constexpr int64_t kMaxScriptTimeoutMs = 60 * 60 * 1000;

// InvalidArgument naming the field and what it must be.
absl::Status ValidateJobSpec(const v1::JobSpec& spec);

// A dpkg package name: [a-z0-9][a-z0-9+.-]+.
bool IsValidPackageName(absl::string_view name);
// A Debian version as apt takes it after NAME=: starts with a digit, then
// [0-9A-Za-z.+~:-].
bool IsValidPackageVersion(absl::string_view version);
// A systemd unit name: [A-Za-z0-9:_.@\-]+, 1-256 characters, not starting
// with '-'.
bool IsValidUnitName(absl::string_view unit);
// An absolute path without "." or ".." components, empty components or NUL.
bool IsCleanAbsolutePath(absl::string_view path);

}  // namespace steward

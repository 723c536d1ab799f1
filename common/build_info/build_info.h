#pragma once
// What this binary is: Steward's version (CMake's project(VERSION)), the git
// commit it was built from, the CMake build type and the version of the
// agent <-> collector protocol it speaks. Shown by every binary's --version
// and answered by the collector's AdminService.GetVersion.
//
// The commit is taken at build time into one generated source file
// (build_commit.cmake), so a new commit recompiles that file alone; a build
// from a tarball without .git says "unknown" (or what -DSTEWARD_GIT_COMMIT=
// gave). Everything here is immutable after start: thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

namespace steward {

// The version of the agent <-> collector protocol (docs/protocol.md,
// "Protocol version"). Raised by one when a change needs both sides to know
// of it (a new required message or a changed meaning); fields added the
// backward-compatible protobuf way do not raise it.
inline constexpr uint32_t kProtocolVersion = 1;

// The facts --version prints, fixed at build time. A plain value.
struct BuildInfo {
  // "0.1.0": CMake's PROJECT_VERSION.
  std::string version;
  // Abbreviated hash, "-dirty" appended for local changes; "unknown"
  // without git.
  std::string git_commit;
  // "RelWithDebInfo", "Debug", ...; "unknown" when CMake had none.
  std::string build_type;
  // kProtocolVersion.
  uint32_t protocol_version;
};

// This binary's build. The same object on every call.
const BuildInfo& GetBuildInfo();

// One line for --version: "steward-agent 0.1.0 (commit 2f68bd9, RelWithDebInfo,
// protocol 1)", without a newline.
std::string VersionText(std::string_view program);

}  // namespace steward

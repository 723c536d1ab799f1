#pragma once
// What an install-from-artifact job needs of a package manager, so one job
// executor drives dpkg (.deb) and rpm (.rpm). Implementations:
// DpkgBackend, RpmBackend. Thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/jobs/deb_relations.h"
#include "common/exec/tool_runner.h"

namespace steward::agent {

// A package file's fields that the pre-checks use.
struct DebInfo {
  std::string package;
  std::string version;
  std::string architecture;
  uint64_t installed_size_bytes = 0;
  DebPackageRelations relations;  // .deb only (rpm checks its own with --test)
};

// One installed package as the manager sees it: its status text (dpkg's
// "install ok installed", "install ok half-configured"; rpm's "installed")
// and version; `fully_installed` when it is complete and configured.
struct DebState {
  std::string status;
  std::string version;
  bool fully_installed = false;
  bool installed() const { return fully_installed; }
};

class PackageManager {
 public:
  virtual ~PackageManager() = default;
  // "deb" or "rpm": the file kind it installs (and the kept files' suffix).
  virtual std::string Kind() const = 0;
  // The file's fields; InvalidArgument naming the file when it is not one.
  virtual absl::StatusOr<DebInfo> Inspect(const std::string& file) const = 0;
  // The package's state, or nullopt when it is not installed.
  virtual absl::StatusOr<std::optional<DebState>> State(const std::string& name) const = 0;
  // This host's architecture as the manager names it.
  virtual absl::StatusOr<std::string> Architecture() const = 0;
  // Whether a package built for `arch` installs on `host_arch`.
  virtual bool ArchitectureFits(const std::string& arch, const std::string& host_arch) const = 0;
  // Free bytes where packages go.
  virtual absl::StatusOr<uint64_t> FreeBytes() const = 0;
  // Dependency and conflict problems installing `file` would have, one
  // line each (empty: none), found without changing anything.
  virtual absl::StatusOr<std::vector<std::string>> InstallProblems(const std::string& file,
                                                                   const DebInfo& info) const = 0;
  // Installs or replaces (also downgrades) from a file; removes by name.
  // Errors only when the tool could not run; its failure is the result.
  virtual absl::StatusOr<CommandResult> Install(const std::string& file) const = 0;
  virtual absl::StatusOr<CommandResult> Remove(const std::string& name) const = 0;
  // Whether a package State() calls installed has had its install scripts
  // succeed (dpkg: a failed postinst leaves it half-configured). rpm shows a
  // package whose %post failed as installed: only rpm's exit tells.
  virtual bool StateProvesScriptsRan() const = 0;
  // Version order of this manager (<0, 0, >0).
  virtual int CompareVersions(const std::string& a, const std::string& b) const = 0;
};

// Free bytes (f_bavail) on the file system holding `path`.
absl::StatusOr<uint64_t> FreeBytesAt(const std::string& path);

}  // namespace steward::agent

#pragma once
// Packages through dpkg: what a .deb is, what is installed, installing and
// removing. `root` confines everything to another root directory (dpkg
// --root: the admin directory ROOT/var/lib/dpkg, files under ROOT,
// maintainer scripts chrooted there), which is how the tests install real
// packages without touching the machine; empty means this host.
//
// Thread-compatible (dpkg itself serializes on its lock).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/jobs/deb_relations.h"
#include "common/exec/tool_runner.h"

namespace steward::agent {

// A .deb's control fields that the pre-checks use.
struct DebInfo {
  std::string package;
  std::string version;
  std::string architecture;
  uint64_t installed_size_bytes = 0;  // Installed-Size (KiB) * 1024
  DebPackageRelations relations;
};

// True for a dpkg Status ("want flag status") whose package is fully
// installed: status installed, triggers-pending or triggers-awaited (its
// files and configuration are in place), flag ok, any want (hold too).
bool DpkgStatusInstalled(absl::string_view status);

// One package as dpkg sees it: Status (e.g. "install ok installed",
// "install ok half-configured") and Version.
struct DebState {
  std::string status;
  std::string version;
  bool installed() const { return DpkgStatusInstalled(status); }
};

class DpkgBackend {
 public:
  explicit DpkgBackend(std::string root = "", absl::Duration timeout = absl::Minutes(10));

  // dpkg-deb --field; InvalidArgument naming the file when it is not a .deb
  // or its relationship fields do not parse.
  absl::StatusOr<DebInfo> Inspect(const std::string& deb) const;
  // The package's state, or nullopt when dpkg does not know it.
  absl::StatusOr<std::optional<DebState>> State(const std::string& name) const;
  // Every fully installed package (and what they provide).
  absl::StatusOr<DebInstalledSet> Installed() const;
  // dpkg --print-architecture.
  absl::StatusOr<std::string> Architecture() const;
  // Free bytes on the file system packages go to.
  absl::StatusOr<uint64_t> FreeBytes() const;

  // dpkg -i / dpkg -r, waiting up to 5 minutes while another dpkg holds
  // its lock. Errors only when dpkg could not run; its failure is the
  // result's exit code and output.
  absl::StatusOr<CommandResult> Install(const std::string& deb) const;
  absl::StatusOr<CommandResult> Remove(const std::string& name) const;
  // dpkg --no-act --remove: exit 0 when nothing installed depends on it. (A
  // real --remove refused for dependencies still marks the package
  // "deinstall"; this leaves the database alone.)
  absl::StatusOr<CommandResult> CheckRemove(const std::string& name) const;

  const std::string& root() const { return root_; }

 private:
  std::vector<std::string> Dpkg(const char* tool) const;  // argv prefix with --root/--admindir
  // dpkg with `args`, waiting up to lock_wait_ for its lock.
  absl::StatusOr<CommandResult> RunDpkg(const std::vector<std::string>& args) const;
  std::string root_;
  absl::Duration timeout_;
  absl::Duration lock_wait_ = absl::Minutes(5);
};

}  // namespace steward::agent

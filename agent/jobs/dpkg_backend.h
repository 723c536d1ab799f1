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
#include "agent/jobs/package_manager.h"
#include "common/exec/tool_runner.h"

namespace steward::agent {

// True for a dpkg Status ("want flag status") whose package is fully
// installed: status installed, triggers-pending or triggers-awaited (its
// files and configuration are in place), flag ok, any want (hold too).
bool DpkgStatusInstalled(absl::string_view status);

class DpkgBackend : public PackageManager {
 public:
  explicit DpkgBackend(std::string root = "", absl::Duration timeout = absl::Minutes(10));

  // dpkg-deb --field; InvalidArgument naming the file when it is not a .deb
  // or its relationship fields do not parse.
  absl::StatusOr<DebInfo> Inspect(const std::string& deb) const override;
  // The package's state, or nullopt when dpkg does not know it.
  absl::StatusOr<std::optional<DebState>> State(const std::string& name) const override;
  // Every fully installed package (and what they provide).
  absl::StatusOr<DebInstalledSet> Installed() const;
  // dpkg --print-architecture.
  absl::StatusOr<std::string> Architecture() const override;
  bool ArchitectureFits(const std::string& arch, const std::string& host_arch) const override {
    return arch == "all" || arch == host_arch;
  }
  // Free bytes on the file system packages go to.
  absl::StatusOr<uint64_t> FreeBytes() const override;
  // Depends/Pre-Depends/Conflicts/Breaks against Installed() (dpkg's own
  // --no-act does not check them).
  absl::StatusOr<std::vector<std::string>> InstallProblems(const std::string& file,
                                                           const DebInfo& info) const override;
  std::string Kind() const override { return "deb"; }
  bool StateProvesScriptsRan() const override { return true; }
  int CompareVersions(const std::string& a, const std::string& b) const override;

  // dpkg -i / dpkg -r, waiting up to 5 minutes while another dpkg holds
  // its lock. Errors only when dpkg could not run; its failure is the
  // result's exit code and output.
  absl::StatusOr<CommandResult> Install(const std::string& deb) const override;
  absl::StatusOr<CommandResult> Remove(const std::string& name) const override;
  // dpkg --no-act --remove: exit 0 when nothing installed depends on it. (A
  // real --remove refused for dependencies still marks the package
  // "deinstall"; this leaves the database alone.)
  absl::StatusOr<CommandResult> CheckRemove(const std::string& name) const;
  // dpkg --configure -a: finishes what an interrupted dpkg (an agent killed
  // while apt ran it) left unpacked or half-configured.
  absl::StatusOr<CommandResult> ConfigurePending() const;

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

#pragma once
// Packages through rpm, for .rpm artifacts on hosts where rpm manages the
// packages. `root` confines everything to another root directory (rpm
// --root: its database under ROOT, scriptlets chrooted there), which is
// how the tests install real packages; empty means this host.
//
// Thread-compatible (rpm serializes on its database lock).

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/jobs/package_manager.h"

namespace steward::agent {

class RpmBackend : public PackageManager {
 public:
  explicit RpmBackend(std::string root = "", absl::Duration timeout = absl::Minutes(10));

  std::string Kind() const override { return "rpm"; }
  bool StateProvesScriptsRan() const override { return false; }
  // rpm -qp: NAME, [EPOCH:]VERSION-RELEASE, ARCH, SIZE.
  absl::StatusOr<DebInfo> Inspect(const std::string& file) const override;
  // rpm -q; the newest when several versions are installed (kernels).
  absl::StatusOr<std::optional<DebState>> State(const std::string& name) const override;
  // rpm --eval %{_arch}.
  absl::StatusOr<std::string> Architecture() const override;
  bool ArchitectureFits(const std::string& arch, const std::string& host_arch) const override {
    return arch == "noarch" || arch == host_arch;
  }
  absl::StatusOr<uint64_t> FreeBytes() const override { return FreeBytesAt(root_.empty() ? "/" : root_); }
  // rpm -U --test: failed dependencies and conflicts, nothing changed.
  absl::StatusOr<std::vector<std::string>> InstallProblems(const std::string& file,
                                                           const DebInfo& info) const override;
  // rpm -U --oldpackage (a rollback may go down) --replacepkgs (the same
  // version again runs its scriptlets again: how a job resumed after a
  // crash learns whether %post succeeds); rpm -e. A failed %post (rpm
  // itself exits 0) gives exit code 1.
  absl::StatusOr<CommandResult> Install(const std::string& file) const override;
  absl::StatusOr<CommandResult> Remove(const std::string& name) const override;
  int CompareVersions(const std::string& a, const std::string& b) const override;

 private:
  std::vector<std::string> Rpm() const;  // rpm [--root ROOT]
  std::string root_;
  absl::Duration timeout_;
};

}  // namespace steward::agent

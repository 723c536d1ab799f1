#pragma once
// Inventory source "dpkg": Debian-family packages from dpkg's status file.

#include <string>
#include <vector>

#include "agent/inventory/inventory_source.h"

namespace steward::agent {

// Adapter over ParseDpkgStatus. Install time is the mtime of the package's
// file list (/var/lib/dpkg/info/NAME.list or NAME:ARCH.list), which dpkg
// rewrites on every install and upgrade. Fingerprint: the status file.
// Thread safety: see InventorySource.
class DpkgSource : public InventorySource {
 public:
  explicit DpkgSource(const InventoryOptions& options);

  absl::string_view name() const override { return "dpkg"; }
  std::string Fingerprint() override;
  absl::StatusOr<std::vector<Package>> Scan(ParseReport* report) override;

 private:
  std::string root_;
  std::string status_path_;  // Host path.
};

}  // namespace steward::agent

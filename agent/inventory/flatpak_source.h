#pragma once
// Inventory source "flatpak": applications and runtimes deployed by flatpak.

#include <optional>
#include <string>
#include <vector>

#include "agent/inventory/inventory_source.h"

namespace steward::agent {

// The version attribute of the first <release> element of an AppStream
// metainfo/appdata document (releases are listed newest first); XML
// comments are skipped. nullopt when there is none or it is empty or has
// control characters. Never crashes.
std::optional<std::string> ParseMetainfoReleaseVersion(absl::string_view xml);

// Walks INSTALLATION/{app,runtime}/ID/ARCH/BRANCH/active for the system
// installation (/var/lib/flatpak) and per-user ones (/root and
// /home/*/.local/share/flatpak). name = ID, arch = ARCH, status = "app" or
// "runtime", location = the BRANCH directory (the same runtime is commonly
// deployed for several branches), version = the first <release> of
// active/files/share/{metainfo,appdata}/*.xml (ID.* preferred), or else
// "BRANCH-COMMIT12" from the commit `active` points to; install time = the
// mtime of the deployed commit directory. A dangling `active` skips the
// deployment with a warning.
// Fingerprint: lstat of every `active` link. Thread safety: see InventorySource.
class FlatpakSource : public InventorySource {
 public:
  explicit FlatpakSource(const InventoryOptions& options);

  absl::string_view name() const override { return "flatpak"; }
  std::string Fingerprint() override;
  absl::StatusOr<std::vector<Package>> Scan(ParseReport* report) override;

 private:
  // One deployment: its BRANCH directory (host path) and its parts.
  struct Deployment {
    std::string dir;
    std::string kind, id, arch, branch;
  };
  std::vector<Deployment> Deployments() const;

  std::string root_;
};

}  // namespace steward::agent

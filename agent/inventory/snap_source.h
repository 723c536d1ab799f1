#pragma once
// Inventory source "snap": snaps mounted under /snap.

#include <optional>
#include <string>
#include <vector>

#include "agent/inventory/inventory_source.h"

namespace steward::agent {

// The fields of a snap's meta/snap.yaml the inventory keeps.
struct SnapYaml {
  std::string name;
  std::string version;
  std::string arch;  // First of `architectures:`; empty when absent.

  friend bool operator==(const SnapYaml&, const SnapYaml&) = default;
};

// Reads the top-level `name:`, `version:` and `architectures:` keys of a
// snap.yaml (a flat subset of YAML: unindented `key: value` lines, values
// optionally single- or double-quoted, `#` comments, architectures as a
// flow list `[amd64]` or a block list of `- amd64` lines). Nested blocks are
// skipped. Returns nullopt with a warning naming `origin` when name or
// version is missing or has control characters. Never crashes.
std::optional<SnapYaml> ParseSnapYaml(absl::string_view text, absl::string_view origin,
                                      ParseReport* report);

// For each /snap/NAME/current symlink (NAME may be a parallel-install
// instance name, "foo_bar"): the revision it points to, meta/snap.yaml for
// version and architecture, and /var/lib/snapd/snaps/NAME_REV.snap for
// size and install time (its mtime). name = the directory name, status =
// "revision REV", vendor empty (the publisher is only in snapd's
// assertions). A dangling `current` (snap not mounted) or an unreadable
// snap.yaml warns and skips the snap.
// Fingerprint: stat of /snap and lstat of every `current` link.
// Thread safety: see InventorySource.
class SnapSource : public InventorySource {
 public:
  explicit SnapSource(const InventoryOptions& options);

  absl::string_view name() const override { return "snap"; }
  std::string Fingerprint() override;
  absl::StatusOr<std::vector<Package>> Scan(ParseReport* report) override;

 private:
  std::string root_;
};

}  // namespace steward::agent

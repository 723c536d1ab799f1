#pragma once
// Inventory source "pip": Python distributions installed in the
// site-packages / dist-packages directories of every interpreter found on
// the host, read from their metadata files (no interpreter is run).

#include <string>
#include <vector>

#include "agent/inventory/inventory_source.h"

namespace steward::agent {

// Scans the directories of PythonSiteDirs(): each *.dist-info/METADATA and
// *.egg-info (PKG-INFO inside, or the file itself). One Package per
// distribution and directory: name as written in the metadata, location =
// the directory (host path), size = sum of RECORD sizes (dist-info only),
// install time = mtime of the metadata directory, vendor = Author. Within a
// directory names are compared PEP 503-normalised, as pip does; a
// dist-info wins over an egg-info of the same name (Debian ships both for
// some packages); among two of the same kind the first (sorted) is kept,
// with a warning. Fingerprint: stat of each directory (an install or
// removal adds or removes an entry there).
// Thread safety: see InventorySource.
class PipSource : public InventorySource {
 public:
  explicit PipSource(const InventoryOptions& options);

  absl::string_view name() const override { return "pip"; }
  std::string Fingerprint() override;
  absl::StatusOr<std::vector<Package>> Scan(ParseReport* report) override;

  // The site directories that exist, as host paths: the well-known system
  // and per-user locations, pyenv versions, /opt/*, and the configured
  // prefixes, in pattern order. Two paths naming the same directory
  // (symlinks) are reported once, under its real name when a pattern
  // matches that, else under the first.
  std::vector<std::string> PythonSiteDirs() const;

  // Scans one site directory (host path); appends to `out`.
  void ScanSiteDir(const std::string& dir, ParseReport* report, std::vector<Package>* out) const;

 private:
  std::string root_;
  std::vector<std::string> patterns_;
};

}  // namespace steward::agent

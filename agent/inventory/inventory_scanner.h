#pragma once
// Runs the inventory sources and merges their packages, skipping the work
// when nothing changed.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/inventory/inventory_source.h"

namespace steward::agent {

// Owns a list of sources and remembers, per source, the fingerprint and the
// packages of its last successful scan. ScanIfChanged() rescans only the
// sources whose fingerprint changed (all of them when forced) and returns the
// union of every source's packages, sorted by (source, name, arch, location)
// with keys unique. A source whose scan fails keeps its previous packages
// (so a transient error never looks like mass removal) and is retried on
// the next call. Thread safety: none; one caller at a time.
class InventoryScanner {
 public:
  // What the last ScanIfChanged() did with one source (for logs and the
  // benchmark).
  struct SourceStats {
    std::string name;
    bool scanned = false;      // False when skipped as unchanged.
    absl::Duration scan_time;  // Fingerprint + scan.
    size_t items = 0;          // Packages it currently contributes.
    absl::Status status;       // The last scan's error, if any.
  };

  explicit InventoryScanner(std::vector<std::unique_ptr<InventorySource>> sources);

  // nullopt when no source's fingerprint changed since the last call (and
  // !force, and a result was returned before); otherwise the merged
  // packages. Warnings go to `report` (may be
  // null), including one per failed source.
  std::optional<std::vector<Package>> ScanIfChanged(bool force, ParseReport* report);

  const std::vector<SourceStats>& last_stats() const { return stats_; }

 private:
  struct SourceState {
    std::unique_ptr<InventorySource> source;
    std::optional<std::string> fingerprint;  // Of the last successful scan.
    std::vector<Package> packages;
  };

  std::vector<SourceState> sources_;
  std::vector<SourceStats> stats_;
  bool returned_once_ = false;
};

}  // namespace steward::agent

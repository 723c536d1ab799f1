#pragma once
// Inventory source "npm": globally installed Node.js packages.

#include <string>
#include <vector>

#include "agent/inventory/inventory_source.h"

namespace steward::agent {

// Reads NAME/package.json and @SCOPE/NAME/package.json in each global
// node_modules directory: /usr/lib/node_modules, /usr/local/lib/node_modules,
// nvm's (/root/.nvm and /home/*/.nvm versions/node/*/lib/node_modules) and
// InventoryOptions::npm_roots. One Package per package and directory: name
// from package.json (the directory name when it has none, as npm does),
// location = the node_modules directory, install time = ctime of
// package.json (npm's tar extraction keeps the archive's mtimes). Hidden
// entries (.bin, .package-lock.json, npm's .staging) are skipped. Invalid
// JSON or a missing version warns and skips the package.
// Fingerprint: stat of each node_modules and scope directory and each
// package.json. Thread safety: see InventorySource.
class NpmSource : public InventorySource {
 public:
  explicit NpmSource(const InventoryOptions& options);

  absl::string_view name() const override { return "npm"; }
  std::string Fingerprint() override;
  absl::StatusOr<std::vector<Package>> Scan(ParseReport* report) override;

  // The global node_modules directories that exist (host paths).
  std::vector<std::string> NodeModulesDirs() const;

 private:
  // Package directories of `modules_dir` as (host path of the directory,
  // name relative to modules_dir), with `report` warned about unreadable
  // directories (may be null).
  std::vector<std::pair<std::string, std::string>> PackageDirs(const std::string& modules_dir,
                                                               ParseReport* report) const;

  std::string root_;
  std::vector<std::string> patterns_;
};

}  // namespace steward::agent

#pragma once
// The seam between the inventory and the package managers it reads: each
// package manager (dpkg, pip, npm, snap, flatpak, rpm) is one
// InventorySource; sources.h lists them.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/inventory/package.h"
#include "agent/parse_report.h"

namespace steward::agent {

// Where the sources look. Every path is a host path resolved under `root`,
// so tests (and an agent inspecting a mounted image) use a fake root.
struct InventoryOptions {
  std::string root = "/";
  std::string dpkg_status = "/var/lib/dpkg/status";
  // Extra Python prefixes (sys.prefix of a venv or an unusual interpreter);
  // their lib/python*/{site,dist}-packages are scanned besides the
  // well-known ones.
  std::vector<std::string> python_prefixes;
  // Extra global node_modules directories besides /usr/lib/node_modules and
  // /usr/local/lib/node_modules.
  std::vector<std::string> npm_roots;
  // The rpm binary (a host path under `root`) and how long it may run.
  std::string rpm_binary = "/usr/bin/rpm";
  absl::Duration rpm_timeout = absl::Seconds(60);
};

// One package manager's view of the host.
// Scan() and Fingerprint() read the file system and may run a tool; they
// are called from one thread at a time (implementations keep no shared
// state, so distinct sources may run concurrently).
class InventorySource {
 public:
  virtual ~InventorySource() = default;

  // Short stable name, also the `source` of every Package it returns.
  virtual absl::string_view name() const = 0;

  // A cheap summary of the files Scan() reads: their stat() data (mtime in
  // ns and size) concatenated. Equal fingerprints mean a rescan would give
  // the same result; empty when the package manager is absent.
  virtual std::string Fingerprint() = 0;

  // The installed packages. An absent package manager is OK with no
  // packages; malformed records are skipped with a warning in `report`
  // (which may be null). An error means the database exists but could not be
  // read at all, so the caller should keep the previous result.
  virtual absl::StatusOr<std::vector<Package>> Scan(ParseReport* report) = 0;
};

}  // namespace steward::agent

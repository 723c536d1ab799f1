#pragma once
// Inventory source "rpm": packages in an rpm database, listed by `rpm -qa`
// (the database formats, BerkeleyDB, NDB and SQLite, are not stable enough to
// read directly).

#include <string>
#include <vector>

#include "agent/inventory/inventory_source.h"

namespace steward::agent {

// The --queryformat RpmSource passes; ParseRpmQueryOutput reads its output.
inline constexpr char kRpmQueryFormat[] =
    "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\t%{SIZE}\\t%{INSTALLTIME}"
    "\\n";

// Parses `rpm -qa --qf kRpmQueryFormat` output: one package per line, six
// tab-separated fields. The version drops a zero epoch ("0:1.2-3" becomes
// "1.2-3", as dpkg shows versions); "(none)" arch or vendor become empty.
// Skipped with a warning naming `origin` and the line: a line with another
// number of fields, an empty name or version, control characters. A
// non-numeric size or install time warns and counts 0. When several
// packages share name and arch (install-only packages such as kernels),
// each gets its version as `location`, so item identities stay unique.
// status = "installed". Never crashes; `report` may be null.
std::vector<Package> ParseRpmQueryOutput(absl::string_view text, absl::string_view origin,
                                         ParseReport* report);

// Runs the rpm binary only when an rpm database directory exists
// (/var/lib/rpm or /usr/lib/sysimage/rpm) and the binary does; otherwise
// reports no packages. With a root other than "/", passes `--root ROOT`.
// Fingerprint: stat of the database files (except SQLite's -shm and
// BerkeleyDB's __db.* environment files, which change on reads).
// Thread safety: see InventorySource.
class RpmSource : public InventorySource {
 public:
  explicit RpmSource(const InventoryOptions& options);

  absl::string_view name() const override { return "rpm"; }
  std::string Fingerprint() override;
  absl::StatusOr<std::vector<Package>> Scan(ParseReport* report) override;

 private:
  // Host path of the first database directory that exists, or "".
  std::string DatabaseDir() const;

  std::string root_;
  std::string binary_;  // Host path.
  absl::Duration timeout_;
};

}  // namespace steward::agent

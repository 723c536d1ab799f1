#pragma once
// The inventory's unit: one installed piece of software, whichever package
// manager installed it.

#include <cstdint>
#include <string>

namespace steward::agent {

// One installed package as the inventory reports it. Plain value type.
// Identity within an inventory is (source, name, arch, location); the other
// fields describe that item. Invariant for packages returned by a source:
// `source`, `name` and `version` are non-empty.
struct Package {
  std::string source;             // The source that found it: "dpkg", "pip", "npm", "snap", ...
  std::string name;               // As the package manager writes it (pip: METADATA's Name).
  std::string version;            // Full version string (dpkg/rpm: with epoch and revision).
  std::string arch;               // Architecture; empty where it does not apply (pip, npm).
  std::string vendor;             // Maintainer / vendor / publisher; empty when unknown.
  uint64_t size_bytes = 0;        // Installed size; 0 when unknown.
  std::string status;             // Source-specific state, e.g. dpkg "install ok installed".
  int64_t install_time_unix = 0;  // Install (or last upgrade) time; 0 when unknown.
  std::string location;           // pip/npm/flatpak: the directory it is installed in.

  friend bool operator==(const Package&, const Package&) = default;
};

}  // namespace steward::agent

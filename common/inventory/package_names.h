#pragma once
// How the inventory sources compare package names: pip (PEP 503) and npm
// (the registry refuses names differing only in case) treat "Django" and
// "django" as one package; dpkg, rpm, snap and flatpak do not. One table,
// read by every name filter (ListSoftware, ListChanges).

#include "absl/strings/string_view.h"
#include "common/glob.h"

namespace steward {

// Every inventory source the agent has (agent/inventory/*_source.h), by the
// name it reports in SoftwareItem.source; stewardctl offers these to
// --source.
inline constexpr absl::string_view kInventorySources[] = {"dpkg", "rpm", "pip", "npm", "snap", "flatpak"};

// True when `source` ("pip", "dpkg", ...) compares package names without
// regard to case. Unknown sources compare case-sensitively.
bool PackageNamesFoldCase(absl::string_view source);

// The Glob case mode for names of `source`.
inline Glob::Case PackageNameCase(absl::string_view source) {
  return PackageNamesFoldCase(source) ? Glob::Case::kFoldAscii : Glob::Case::kSensitive;
}

}  // namespace steward

#pragma once
// One entry point for "is the installed version older than X" whatever
// package system reported the item: each source's own ordering.

#include <string_view>

namespace steward {

// Orders an installed version against a wanted one by the rules of the
// item's `source` (SoftwareItem.source):
//   "dpkg"  dpkg's ordering (CompareDpkgVersionStrings: "1.0" == "1.0-0");
//   "rpm"   rpm's EVR ordering, a wanted version without release matching
//           any release (CompareRpmEvr);
//   others  (pip, npm, snap, flatpak) rpm's segment ordering over the whole
//           string (RpmVerCmp): numbers numerically, "1.10" > "1.9". Their
//           pre-release conventions ("1.0rc1", "1.0.0-beta") are not known
//           to it and sort after the release.
// A version a source's parser rejects falls back to RpmVerCmp for rpm and
// sorts after every valid one for dpkg. Returns <0, 0 or >0.
int ComparePackageVersion(std::string_view source, std::string_view installed, std::string_view wanted);

}  // namespace steward

#pragma once
// Debian package versions ("[epoch:]upstream[-revision]"), parsed and ordered
// exactly as dpkg does (lib/dpkg/version.c: parseversion, verrevcmp), so the
// collector and `dpkg --compare-versions` never disagree about "newer".

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace steward {

// A parsed Debian version. `upstream` is never empty; `revision` is empty when
// the version has no '-' (dpkg compares an absent revision like "0", so
// "1.0" and "1.0-0" are equal). `epoch` is at most INT32_MAX, as in dpkg.
struct DpkgVersion {
  uint64_t epoch = 0;
  std::string upstream;
  std::string revision;
};

// Parses `text` the way dpkg's parseversion() does: leading and trailing
// blanks are trimmed; the epoch is the decimal number before the first ':';
// the revision is whatever follows the last '-'. Returns InvalidArgument, with
// a message naming the version and the reason, for: an empty string, embedded
// blanks, an empty, non-numeric or too large epoch, nothing after the colon,
// an empty upstream or revision, and characters outside [0-9A-Za-z.+~-:] in
// the upstream or outside [0-9A-Za-z.+~] in the revision. An upstream that
// does not start with a digit is only a warning in dpkg and is accepted here.
// Stricter than dpkg in one respect: the epoch must be plain digits (dpkg's
// strtol would also take "+1:2.0" or " 1:2.0").
absl::StatusOr<DpkgVersion> ParseDpkgVersion(std::string_view text);

// Orders two parsed versions like dpkg: epoch numerically, then upstream, then
// revision, each with verrevcmp ('~' sorts before everything, even the end of
// the string; then the end of the string; then letters; then other
// characters; digit runs compare numerically at any length). Returns <0, 0 or
// >0. "Equal" is dpkg's equality, so e.g. "1.0", "1.00" and "1.0-0" are equal.
int CompareDpkgVersions(const DpkgVersion& a, const DpkgVersion& b);

// Total order over arbitrary strings: every string ParseDpkgVersion accepts
// sorts before every string it rejects; two valid strings compare with
// CompareDpkgVersions (so dpkg-equal versions compare equal); two invalid
// strings compare bytewise. Returns <0, 0 or >0.
int CompareDpkgVersionStrings(std::string_view a, std::string_view b);

}  // namespace steward

#pragma once
// RPM package versions ("[epoch:]version[-release]"), ordered exactly as rpm
// does (lib/rpmvercmp.c: rpmvercmp; lib/rpmds.c: rpmdsCompare for a missing
// release), so `package:openssl<1.1.1k` means what `rpm` and `dnf` mean.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace steward {

// rpm's rpmvercmp(): splits both strings into runs of digits and runs of
// ASCII letters, skipping every other character except '~' and '^'. '~'
// sorts before everything, even the end of the string ("1.0~rc1" <
// "1.0"); '^' sorts after the end of the string but before any other
// segment ("1.0" < "1.0^git1" < "1.0.1"); a digit run beats a letter run;
// digit runs compare numerically at any length; letter runs bytewise; when
// all segments tie, the string with segments left over is newer. Returns
// <0, 0 or >0. Defined for any bytes (no error cases, like rpm).
int RpmVerCmp(std::string_view a, std::string_view b);

// A parsed RPM EVR. `epoch` is 0 and `has_epoch` false when there is no
// "N:" prefix; `has_release` is false when there is no '-'.
struct RpmEvr {
  uint64_t epoch = 0;
  bool has_epoch = false;
  std::string version;
  std::string release;
  bool has_release = false;
};

// Splits `text` as rpm does: the epoch is the decimal number before the first
// ':' (when everything before that ':' is digits), the release whatever
// follows the last '-'. InvalidArgument, naming the text and the reason,
// for an empty string or version, blanks or control characters, an epoch
// above 2^32-1, or an empty release after '-'.
absl::StatusOr<RpmEvr> ParseRpmEvr(std::string_view text);

// Orders `installed` against `wanted` like rpm compares a package with a
// dependency: epoch numerically (absent = 0), then version, then release
// with RpmVerCmp, except that a `wanted` without release matches any
// release ("1.1.1k" equals an installed "1.1.1k-5.el8"). Returns <0, 0, >0
// for installed older, equal, newer.
int CompareRpmEvr(const RpmEvr& installed, const RpmEvr& wanted);

}  // namespace steward

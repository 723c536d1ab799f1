#pragma once
// Reader for dpkg's status database (/var/lib/dpkg/status): the list of
// packages installed on a Debian-family host.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/inventory/package.h"
#include "agent/parse_report.h"

namespace steward::agent {

inline constexpr char kDpkgStatusPath[] = "/var/lib/dpkg/status";

// Parses the text of a dpkg status database and returns the packages whose
// (source "dpkg", vendor = Maintainer:, size_bytes = Installed-Size: * 1024,
// saturating; install_time_unix left 0)
// package state (the third word of Status:) is "installed", in file order;
// so "hold ok installed" and "deinstall ok installed" count and
// "deinstall ok config-files" does not.
//
// Stanzas are separated by blank lines; continuation lines (leading space or
// tab) are accepted and ignored; field names are case-insensitive. Skipped
// with a warning naming `origin` and the line: a stanza without Package:, an
// installed stanza without Version:, a stanza without a three-word Status:,
// and a stanza containing a line with no ':'. An invalid Installed-Size only
// warns (the package is kept with size 0). Never fails, never crashes;
// `report` may be null.
std::vector<Package> ParseDpkgStatus(absl::string_view text, absl::string_view origin,
                                     ParseReport* report);

// Reads and parses `path`. NotFound when the file does not exist, another
// error when it cannot be read; parse problems go to `report`.
absl::StatusOr<std::vector<Package>> ReadDpkgStatus(const std::string& path, ParseReport* report);

}  // namespace steward::agent

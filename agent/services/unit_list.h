#pragma once
// Parsers for systemctl's unit listings, the input of the services
// inventory:
//   systemctl list-units --all --type=service,socket,timer,mount
//             --plain --no-legend --no-pager --full
//   systemctl list-unit-files --plain --no-legend --no-pager --full
// Pure functions of the text: no systemctl is run here (see
// service_inventory.h), so they are tested and fuzzed on captured output.

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/parse_report.h"

namespace steward::agent {

// One line of `systemctl list-units`. Plain value type.
// Invariants (for every unit ParseListUnits returns): `name` is 1-256 bytes
// of printable ASCII without spaces and contains a '.', the three states are
// 1-64 bytes of [a-z0-9-], and `description` is valid UTF-8 without control
// bytes and at most kMaxDescriptionBytes long.
struct SystemdUnit {
  std::string name;          // "nginx.service", "dev-disk-by\x2duuid-....swap"
  std::string load_state;    // "loaded", "not-found", "masked", ...
  std::string active_state;  // "active", "inactive", "failed", ...
  std::string sub_state;     // "running", "exited", "dead", "listening", ...
  std::string description;   // may be empty
  std::string unit_file_state;  // from list-unit-files; "" when unknown

  friend bool operator==(const SystemdUnit&, const SystemdUnit&) = default;
};

// Longest description kept; longer ones are cut (on a UTF-8 boundary) with
// a warning, not skipped.
inline constexpr size_t kMaxDescriptionBytes = 1024;
// Longest unit name systemd allows (UNIT_NAME_MAX).
inline constexpr size_t kMaxUnitNameBytes = 256;

// Parses `list-units` output: "UNIT LOAD ACTIVE SUB DESCRIPTION" per line,
// columns separated by runs of spaces, the description being the rest of
// the line. A leading "●" or "*" marker (failed and not-found units) is
// dropped. Lines that break the invariants above (missing columns, bad
// bytes, a name without a type suffix) are skipped with a warning naming
// `origin` and the line number. Never fails; `report` may be null. The
// result is sorted by name, without duplicates (the first line wins).
std::vector<SystemdUnit> ParseListUnits(absl::string_view text, absl::string_view origin,
                                        ParseReport* report);

// Parses `list-unit-files` output: "UNIT-FILE STATE [VENDOR-PRESET]" per
// line; returns unit file name -> state ("enabled", "disabled", "static",
// ...). Malformed lines are skipped with a warning, as above.
std::map<std::string, std::string> ParseListUnitFiles(absl::string_view text, absl::string_view origin,
                                                      ParseReport* report);

}  // namespace steward::agent

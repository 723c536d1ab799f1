#pragma once
// Reader for os-release(5) files (/etc/os-release, /usr/lib/os-release).

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/parse_report.h"

namespace steward::agent {

inline constexpr char kOsReleasePath[] = "/etc/os-release";
inline constexpr char kOsReleaseFallbackPath[] = "/usr/lib/os-release";

// The contents of an os-release file. Plain value type.
// `fields` holds every valid assignment with quotes and escapes removed (a
// key assigned twice keeps the last value, as a shell would). The four named
// members copy ID, NAME, PRETTY_NAME and VERSION_ID and are empty when the
// file does not set them; os-release(5)'s defaults (ID=linux, NAME=Linux)
// are deliberately not filled in, so callers can tell "unset" apart.
struct OsRelease {
  std::map<std::string, std::string> fields;
  std::string id;
  std::string name;
  std::string pretty_name;
  std::string version_id;

  friend bool operator==(const OsRelease&, const OsRelease&) = default;
};

// Parses os-release(5) text: KEY=VALUE lines, '#' comments and blank lines.
// Values may be unquoted, "double-quoted" (where \$ \" \\ and \` are
// escapes) or 'single-quoted' (literal), and quoted parts concatenate as in
// the shell (A="x"'y'z is "xyz"). Lines without '=', with a key that is not
// [A-Za-z_][A-Za-z0-9_]*, or with an unterminated quote are skipped with a
// warning naming `origin` and the line. Never fails; `report` may be null.
OsRelease ParseOsRelease(absl::string_view text, absl::string_view origin, ParseReport* report);

// Reads and parses `path`. NotFound when the file does not exist.
absl::StatusOr<OsRelease> ReadOsRelease(const std::string& path, ParseReport* report);

}  // namespace steward::agent

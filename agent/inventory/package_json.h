#pragma once
// Parser for npm's package.json: the top-level "name" and "version".

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "agent/parse_report.h"

namespace steward::agent {

// The top-level string fields the inventory keeps; empty when absent or not
// a string.
struct PackageJson {
  std::string name;
  std::string version;

  friend bool operator==(const PackageJson&, const PackageJson&) = default;
};

// Validates `text` as a JSON document (RFC 8259; a leading UTF-8 BOM is
// allowed; nesting deeper than 200 levels is refused) whose top level is an
// object, and returns its "name" and "version" string members (escapes
// decoded; the first of a repeated member wins). Returns nullopt with a
// warning naming `origin` and the byte offset otherwise. Never crashes;
// `report` may be null.
std::optional<PackageJson> ParsePackageJson(absl::string_view text, absl::string_view origin,
                                            ParseReport* report);

}  // namespace steward::agent

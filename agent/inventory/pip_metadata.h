#pragma once
// Parsers for the files a Python distribution leaves in site-packages:
// *.dist-info/METADATA (and *.egg-info PKG-INFO, same format) and
// *.dist-info/RECORD.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "agent/parse_report.h"

namespace steward::agent {

// The fields of a core-metadata file the inventory keeps.
struct PythonMetadata {
  std::string name;     // Name: as written.
  std::string version;  // Version:
  std::string author;   // Author: (may be empty).

  friend bool operator==(const PythonMetadata&, const PythonMetadata&) = default;
};

// Parses the RFC 822-style header block of METADATA / PKG-INFO: it ends at
// the first blank line (the description body follows); header names are
// case-insensitive; continuation lines (leading blank) are ignored; the first
// of a repeated header wins. Returns nullopt, with a warning naming `origin`,
// when Name or Version is missing, empty or contains control characters or
// blanks. A header line without ':' or with a field name that is not
// printable ASCII warns (once per file) and is skipped. Never crashes; `report` may be null.
std::optional<PythonMetadata> ParsePythonMetadata(absl::string_view text, absl::string_view origin,
                                                  ParseReport* report);

// PEP 503 normalisation, as pip compares names: lower case, every run of
// '-', '_' and '.' replaced by a single '-'.
std::string NormalizePythonName(absl::string_view name);

// Sum of the size column (the last of "path,hash,size") of a RECORD file.
// Empty sizes (RECORD itself, .pyc) count 0; a line without a comma or with
// a non-numeric size warns with its line number and counts 0. Saturates.
uint64_t SumRecordSizes(absl::string_view record, absl::string_view origin, ParseReport* report);

}  // namespace steward::agent

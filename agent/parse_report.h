#pragma once
// Warnings shared by the agent's text parsers (dpkg status, os-release,
// procfs). Parsers never fail on bad input: they skip what they cannot
// understand and say so here, naming the file and the line.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace steward::agent {

// What a parser skipped or could not read, for the caller to log or report.
// Each warning reads "ORIGIN line N: what is wrong" (or "ORIGIN: what is
// wrong" when no line applies), where ORIGIN is the file the text came from.
// Invariant: `warnings` never holds more than kMaxWarnings entries; warnings
// past that bound are only counted in `suppressed_warnings`, so a garbage
// input cannot make the report grow without limit.
// Thread safety: none; use one report per parse (or per collection pass).
struct ParseReport {
  static constexpr size_t kMaxWarnings = 1000;

  std::vector<std::string> warnings;
  size_t suppressed_warnings = 0;

  // Every warning seen, kept or suppressed.
  size_t total_warnings() const { return warnings.size() + suppressed_warnings; }
};

// Appends `text` as a warning. A null `report` is allowed and ignored.
inline void AddWarning(ParseReport* report, std::string text) {
  if (report == nullptr) return;
  if (report->warnings.size() >= ParseReport::kMaxWarnings) {
    ++report->suppressed_warnings;
    return;
  }
  report->warnings.push_back(std::move(text));
}

// Appends "ORIGIN line LINE: WHAT".
inline void AddLineWarning(ParseReport* report, absl::string_view origin, size_t line,
                           absl::string_view what) {
  if (report == nullptr) return;
  AddWarning(report, absl::StrCat(origin, " line ", line, ": ", what));
}

// Quotes untrusted input for a warning: at most 40 bytes, C-escaped, so
// control bytes and terminal escapes from a corrupt file never reach a log.
inline std::string QuoteInput(absl::string_view text) {
  constexpr size_t kMaxQuoted = 40;
  if (text.size() <= kMaxQuoted) return absl::StrCat("'", absl::CHexEscape(text), "'");
  return absl::StrCat("'", absl::CHexEscape(text.substr(0, kMaxQuoted)), "'...");
}

}  // namespace steward::agent

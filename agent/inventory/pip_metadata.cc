#include "agent/inventory/pip_metadata.h"

#include <charconv>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace steward::agent {
namespace {

absl::string_view TrimBlanks(absl::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == absl::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Splits `text` into lines ('\n', with a trailing '\r' dropped); calls
// fn(line, line_no) until fn returns false.
template <typename Fn>
void ForEachLine(absl::string_view text, Fn fn) {
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    absl::string_view line =
        text.substr(pos, nl == absl::string_view::npos ? absl::string_view::npos : nl - pos);
    pos = nl == absl::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!fn(line, ++line_no)) return;
  }
}

// True when `s` has a control byte, or (with no_blanks) a blank.
bool HasBadBytes(absl::string_view s, bool no_blanks) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
    if (no_blanks && c == ' ') return true;
  }
  return false;
}

// RFC 822 field names: printable ASCII except ':' (which ends them).
bool IsFieldName(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

std::optional<PythonMetadata> ParsePythonMetadata(absl::string_view text, absl::string_view origin,
                                                  ParseReport* report) {
  std::optional<absl::string_view> name, version, author;
  bool warned_bad_line = false;
  ForEachLine(text, [&](absl::string_view line, size_t line_no) {
    if (TrimBlanks(line).empty()) return false;                    // End of the header block.
    if (line.front() == ' ' || line.front() == '\t') return true;  // Continuation.
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0 || !IsFieldName(line.substr(0, colon))) {
      if (!warned_bad_line) {
        AddLineWarning(report, origin, line_no,
                       absl::StrCat("header line without a valid field name (", QuoteInput(line),
                                    "), ignored"));
        warned_bad_line = true;
      }
      return true;
    }
    absl::string_view field = line.substr(0, colon);
    absl::string_view value = TrimBlanks(line.substr(colon + 1));
    if (absl::EqualsIgnoreCase(field, "Name")) {
      if (!name.has_value()) name = value;
    } else if (absl::EqualsIgnoreCase(field, "Version")) {
      if (!version.has_value()) version = value;
    } else if (absl::EqualsIgnoreCase(field, "Author")) {
      if (!author.has_value()) author = value;
    }
    return true;
  });
  if (!name.has_value() || name->empty()) {
    AddWarning(report, absl::StrCat(origin, ": no Name field, distribution skipped"));
    return std::nullopt;
  }
  if (HasBadBytes(*name, /*no_blanks=*/true)) {
    AddWarning(report, absl::StrCat(origin, ": Name ", QuoteInput(*name),
                                    " has control characters or blanks, distribution skipped"));
    return std::nullopt;
  }
  if (!version.has_value() || version->empty()) {
    AddWarning(report, absl::StrCat(origin, ": distribution ", QuoteInput(*name),
                                    " has no Version field, skipped"));
    return std::nullopt;
  }
  if (HasBadBytes(*version, /*no_blanks=*/true)) {
    AddWarning(report,
               absl::StrCat(origin, ": Version ", QuoteInput(*version), " of ", QuoteInput(*name),
                            " has control characters or blanks, distribution skipped"));
    return std::nullopt;
  }
  PythonMetadata m;
  m.name = std::string(*name);
  m.version = std::string(*version);
  if (author.has_value() && !HasBadBytes(*author, /*no_blanks=*/false)) {
    m.author = std::string(*author);
  }
  return m;
}

std::string NormalizePythonName(absl::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool in_sep = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      if (!in_sep) out.push_back('-');
      in_sep = true;
    } else {
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
      in_sep = false;
    }
  }
  return out;
}

uint64_t SumRecordSizes(absl::string_view record, absl::string_view origin, ParseReport* report) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t total = 0;
  ForEachLine(record, [&](absl::string_view line, size_t line_no) {
    if (line.empty()) return true;
    size_t comma = line.rfind(',');
    if (comma == absl::string_view::npos) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("RECORD line without ',' (", QuoteInput(line), "), ignored"));
      return true;
    }
    absl::string_view size = TrimBlanks(line.substr(comma + 1));
    if (size.empty()) return true;
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), n);
    if (ec != std::errc() || ptr != size.data() + size.size()) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("RECORD size ", QuoteInput(size), " is not a number, ignored"));
      return true;
    }
    total = n > kMax - total ? kMax : total + n;
    return true;
  });
  return total;
}

}  // namespace steward::agent

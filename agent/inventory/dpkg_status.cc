#include "agent/inventory/dpkg_status.h"

#include <charconv>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace steward::agent {
namespace {

constexpr absl::string_view kBlanks = " \t";

absl::string_view TrimBlanks(absl::string_view s) {
  size_t b = s.find_first_not_of(kBlanks);
  if (b == absl::string_view::npos) return {};
  size_t e = s.find_last_not_of(kBlanks);
  return s.substr(b, e - b + 1);
}

// A field value and the line it was found on.
struct FieldValue {
  absl::string_view value;
  size_t line = 0;
};

// The fields of one stanza the inventory cares about. Views point into the
// parsed text, so nothing is copied until a package is accepted.
struct Stanza {
  size_t first_line = 0;  // 0 while no stanza is open.
  bool malformed = false;
  std::optional<FieldValue> package, version, arch, maintainer, installed_size, status;
};

// Returns the slot for a field the inventory keeps, or null for others.
std::optional<FieldValue>* SlotFor(Stanza& st, absl::string_view name) {
  // Field names are compared case-insensitively (deb822).
  switch (name.size()) {
    case 6:
      if (absl::EqualsIgnoreCase(name, "Status")) return &st.status;
      break;
    case 7:
      if (absl::EqualsIgnoreCase(name, "Package")) return &st.package;
      if (absl::EqualsIgnoreCase(name, "Version")) return &st.version;
      break;
    case 10:
      if (absl::EqualsIgnoreCase(name, "Maintainer")) return &st.maintainer;
      break;
    case 12:
      if (absl::EqualsIgnoreCase(name, "Architecture")) return &st.arch;
      break;
    case 14:
      if (absl::EqualsIgnoreCase(name, "Installed-Size")) return &st.installed_size;
      break;
    default:
      break;
  }
  return nullptr;
}

// Splits a Status: value into its words; false unless there are exactly three.
bool SplitStatus(absl::string_view status, absl::string_view words[3]) {
  size_t n = 0;
  size_t pos = 0;
  while (pos < status.size()) {
    size_t b = status.find_first_not_of(kBlanks, pos);
    if (b == absl::string_view::npos) break;
    size_t e = status.find_first_of(kBlanks, b);
    if (e == absl::string_view::npos) e = status.size();
    if (n == 3) return false;
    words[n++] = status.substr(b, e - b);
    pos = e;
  }
  return n == 3;
}

// Turns a closed stanza into a Package if it describes an installed package.
void FinishStanza(const Stanza& st, absl::string_view origin, ParseReport* report,
                  std::vector<Package>* out) {
  if (st.first_line == 0 || st.malformed) return;  // Malformed: already warned.
  if (!st.package.has_value() || st.package->value.empty()) {
    AddLineWarning(report, origin, st.first_line, "stanza has no Package field, skipped");
    return;
  }
  const absl::string_view name = st.package->value;
  if (!st.status.has_value()) {
    AddLineWarning(report, origin, st.first_line,
                   absl::StrCat("package ", QuoteInput(name), " has no Status field, skipped"));
    return;
  }
  absl::string_view words[3];
  if (!SplitStatus(st.status->value, words)) {
    AddLineWarning(report, origin, st.status->line,
                   absl::StrCat("Status ", QuoteInput(st.status->value), " of package ",
                                QuoteInput(name), " is not three words, skipped"));
    return;
  }
  if (words[2] != "installed") return;
  if (!st.version.has_value() || st.version->value.empty()) {
    AddLineWarning(
        report, origin, st.first_line,
        absl::StrCat("installed package ", QuoteInput(name), " has no Version field, skipped"));
    return;
  }
  Package p;
  p.source = "dpkg";
  p.name = std::string(name);
  p.version = std::string(st.version->value);
  if (st.arch.has_value()) p.arch = std::string(st.arch->value);
  if (st.maintainer.has_value()) p.vendor = std::string(st.maintainer->value);
  p.status = std::string(st.status->value);
  if (st.installed_size.has_value()) {
    absl::string_view v = st.installed_size->value;
    uint64_t kb = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), kb);
    if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) {
      AddLineWarning(report, origin, st.installed_size->line,
                     absl::StrCat("Installed-Size ", QuoteInput(v), " of package ",
                                  QuoteInput(name), " is not a number of kB, using 0"));
    } else {
      constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
      p.size_bytes = kb > kMax / 1024 ? kMax : kb * 1024;
    }
  }
  out->push_back(std::move(p));
}

}  // namespace

std::vector<Package> ParseDpkgStatus(absl::string_view text, absl::string_view origin,
                                     ParseReport* report) {
  std::vector<Package> out;
  Stanza st;
  // The field the last header line opened; continuation lines belong to it.
  bool in_field = false;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    absl::string_view line =
        text.substr(pos, nl == absl::string_view::npos ? absl::string_view::npos : nl - pos);
    pos = nl == absl::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    if (TrimBlanks(line).empty()) {  // Blank (or blanks-only) line ends a stanza.
      FinishStanza(st, origin, report, &out);
      st = Stanza();
      in_field = false;
      continue;
    }
    if (st.first_line == 0) st.first_line = line_no;
    if (line.front() == ' ' || line.front() == '\t') {
      // Continuation (Description, Conffiles, ...): nothing we keep spans lines.
      if (!in_field && !st.malformed) {
        AddLineWarning(report, origin, line_no,
                       "continuation line outside any field, stanza skipped");
        st.malformed = true;
      }
      continue;
    }
    size_t colon = line.find(':');
    absl::string_view name =
        colon == absl::string_view::npos ? absl::string_view() : TrimBlanks(line.substr(0, colon));
    if (name.empty()) {
      if (!st.malformed) {
        AddLineWarning(
            report, origin, line_no,
            absl::StrCat(colon == absl::string_view::npos ? "line has no ':'"
                                                          : "line has an empty field name",
                         " (", QuoteInput(line), "), stanza skipped"));
        st.malformed = true;
      }
      in_field = false;
      continue;
    }
    in_field = true;
    std::optional<FieldValue>* slot = SlotFor(st, name);
    if (slot == nullptr) continue;
    if (slot->has_value()) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("duplicate field ", QuoteInput(name), ", first value kept"));
      continue;
    }
    *slot = FieldValue{TrimBlanks(line.substr(colon + 1)), line_no};
  }
  FinishStanza(st, origin, report, &out);
  return out;
}

absl::StatusOr<std::vector<Package>> ReadDpkgStatus(const std::string& path, ParseReport* report) {
  ASSIGN_OR_RETURN(std::string text, steward::ReadFile(path));
  return ParseDpkgStatus(text, path, report);
}

}  // namespace steward::agent

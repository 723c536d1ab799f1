#include "agent/services/unit_list.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/utf8.h"

namespace steward::agent {
namespace {

constexpr size_t kMaxStateBytes = 64;
// "●" (U+25CF) in a UTF-8 locale, "*" in the C locale.
constexpr absl::string_view kMarkers[] = {"\xE2\x97\x8F", "*"};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Splits the next blank-separated word off the front of `*rest`.
absl::string_view NextWord(absl::string_view* rest) {
  size_t start = 0;
  while (start < rest->size() && IsBlank((*rest)[start])) ++start;
  size_t end = start;
  while (end < rest->size() && !IsBlank((*rest)[end])) ++end;
  absl::string_view word = rest->substr(start, end - start);
  rest->remove_prefix(end);
  return word;
}

absl::string_view TrimBlanks(absl::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Empty when `name` is a plausible unit name, else what is wrong with it.
std::string UnitNameProblem(absl::string_view name) {
  if (name.size() > kMaxUnitNameBytes) {
    return absl::StrCat("unit name is longer than ", kMaxUnitNameBytes, " bytes");
  }
  for (unsigned char c : name) {
    if (c <= 0x20 || c >= 0x7f) return absl::StrCat("unit name has a byte systemd escapes: ", QuoteInput(name));
  }
  size_t dot = name.rfind('.');
  if (dot == absl::string_view::npos || dot == 0 || dot + 1 == name.size()) {
    return absl::StrCat("unit name without a type suffix: ", QuoteInput(name));
  }
  return "";
}

bool IsStateWord(absl::string_view s) {
  if (s.empty() || s.size() > kMaxStateBytes) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-'; });
}

bool HasControlBytes(absl::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// `s` cut to at most `max` bytes without splitting a UTF-8 sequence.
absl::string_view CutUtf8(absl::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

// Calls fn(line_no, line) for every non-empty line, trimmed of blanks.
template <typename Fn>
void ForEachLine(absl::string_view text, Fn fn) {
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = TrimBlanks(line);
    if (!line.empty()) fn(line_no, line);
  }
}

}  // namespace

std::vector<SystemdUnit> ParseListUnits(absl::string_view text, absl::string_view origin,
                                        ParseReport* report) {
  std::vector<SystemdUnit> units;
  ForEachLine(text, [&](size_t line_no, absl::string_view line) {
    auto skip = [&](absl::string_view why) { AddLineWarning(report, origin, line_no, why); };
    for (absl::string_view marker : kMarkers) {
      if (absl::StartsWith(line, marker)) {
        line = TrimBlanks(line.substr(marker.size()));
        break;
      }
    }
    absl::string_view rest = line;
    absl::string_view name = NextWord(&rest);
    absl::string_view states[3] = {NextWord(&rest), NextWord(&rest), NextWord(&rest)};
    absl::string_view description = TrimBlanks(rest);
    if (states[2].empty()) {
      skip(absl::StrCat("expected UNIT LOAD ACTIVE SUB DESCRIPTION, found ", QuoteInput(line)));
      return;
    }
    if (std::string problem = UnitNameProblem(name); !problem.empty()) {
      skip(problem);
      return;
    }
    for (absl::string_view state : states) {
      if (!IsStateWord(state)) {
        skip(absl::StrCat(name, ": state ", QuoteInput(state), " is not a systemd state word"));
        return;
      }
    }
    if (!IsValidUtf8(description) || HasControlBytes(description)) {
      skip(absl::StrCat(name, ": description is not printable UTF-8: ", QuoteInput(description)));
      return;
    }
    if (description.size() > kMaxDescriptionBytes) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat(name, ": description cut to ", kMaxDescriptionBytes, " bytes"));
      description = CutUtf8(description, kMaxDescriptionBytes);
    }
    units.push_back({std::string(name), std::string(states[0]), std::string(states[1]),
                     std::string(states[2]), std::string(description), ""});
  });
  std::stable_sort(units.begin(), units.end(),
                   [](const SystemdUnit& a, const SystemdUnit& b) { return a.name < b.name; });
  auto dup = std::unique(units.begin(), units.end(),
                         [](const SystemdUnit& a, const SystemdUnit& b) { return a.name == b.name; });
  if (dup != units.end()) {
    AddWarning(report, absl::StrCat(origin, ": ", units.end() - dup, " duplicate unit line(s) ignored"));
    units.erase(dup, units.end());
  }
  return units;
}

std::map<std::string, std::string> ParseListUnitFiles(absl::string_view text, absl::string_view origin,
                                                      ParseReport* report) {
  std::map<std::string, std::string> states;
  ForEachLine(text, [&](size_t line_no, absl::string_view line) {
    absl::string_view rest = line;
    absl::string_view name = NextWord(&rest);
    absl::string_view state = NextWord(&rest);
    absl::string_view preset = NextWord(&rest);
    if (state.empty() || !NextWord(&rest).empty()) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("expected UNIT-FILE STATE [PRESET], found ", QuoteInput(line)));
      return;
    }
    if (std::string problem = UnitNameProblem(name); !problem.empty()) {
      AddLineWarning(report, origin, line_no, problem);
      return;
    }
    if (!IsStateWord(state) || (!preset.empty() && !IsStateWord(preset))) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat(name, ": state ", QuoteInput(line.substr(name.size())),
                                  " is not a systemd state word"));
      return;
    }
    states.emplace(std::string(name), std::string(state));
  });
  return states;
}

}  // namespace steward::agent

#include "common/version/rpm_version.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace steward {
namespace {

// rpm's risdigit/risalpha: ASCII only, whatever the locale.
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }

absl::Status Invalid(std::string_view text, const char* reason) {
  return absl::InvalidArgumentError(
      absl::StrCat("rpm version '", absl::CHexEscape(absl::string_view(text.data(), text.size())),
                   "' is invalid: ", reason));
}

}  // namespace

int RpmVerCmp(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  size_t i = 0;
  size_t j = 0;
  // Characters past the end read as NUL, as rpm's C strings do.
  auto at = [](std::string_view s, size_t k) { return k < s.size() ? s[k] : '\0'; };
  while (i < a.size() || j < b.size()) {
    while (i < a.size() && !IsAlnum(a[i]) && a[i] != '~' && a[i] != '^') ++i;
    while (j < b.size() && !IsAlnum(b[j]) && b[j] != '~' && b[j] != '^') ++j;
    const char ca = at(a, i);
    const char cb = at(b, j);
    if (ca == '~' || cb == '~') {
      if (ca != '~') return 1;
      if (cb != '~') return -1;
      ++i;
      ++j;
      continue;
    }
    if (ca == '^' || cb == '^') {
      if (ca == '\0') return -1;
      if (cb == '\0') return 1;
      if (ca != '^') return 1;
      if (cb != '^') return -1;
      ++i;
      ++j;
      continue;
    }
    if (ca == '\0' || cb == '\0') break;
    size_t ei = i;
    size_t ej = j;
    const bool numeric = IsDigit(ca);
    if (numeric) {
      while (ei < a.size() && IsDigit(a[ei])) ++ei;
      while (ej < b.size() && IsDigit(b[ej])) ++ej;
    } else {
      while (ei < a.size() && IsAlpha(a[ei])) ++ei;
      while (ej < b.size() && IsAlpha(b[ej])) ++ej;
    }
    // b's segment is of the other kind (empty here): numbers are newer.
    if (ej == j) return numeric ? 1 : -1;
    std::string_view sa = a.substr(i, ei - i);
    std::string_view sb = b.substr(j, ej - j);
    if (numeric) {
      while (!sa.empty() && sa.front() == '0') sa.remove_prefix(1);
      while (!sb.empty() && sb.front() == '0') sb.remove_prefix(1);
      if (sa.size() != sb.size()) return sa.size() > sb.size() ? 1 : -1;
    }
    if (int c = sa.compare(sb); c != 0) return c < 0 ? -1 : 1;
    i = ei;
    j = ej;
  }
  const bool a_done = i >= a.size();
  const bool b_done = j >= b.size();
  if (a_done && b_done) return 0;
  return a_done ? -1 : 1;
}

absl::StatusOr<RpmEvr> ParseRpmEvr(std::string_view text) {
  if (text.empty()) return Invalid(text, "version string is empty");
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Invalid(text, "blanks and control characters are not allowed");
    }
  }
  RpmEvr evr;
  std::string_view rest = text;
  if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
    std::string_view e = rest.substr(0, colon);
    bool digits = !e.empty();
    for (char c : e) digits = digits && IsDigit(c);
    if (digits) {
      if (e.size() > 10) return Invalid(text, "epoch is too large");
      uint64_t v = 0;
      for (char c : e) v = v * 10 + static_cast<uint64_t>(c - '0');
      if (v > 0xffffffffULL) return Invalid(text, "epoch is too large");
      evr.epoch = v;
      evr.has_epoch = true;
      rest.remove_prefix(colon + 1);
    }
  }
  if (size_t dash = rest.rfind('-'); dash != std::string_view::npos) {
    if (dash + 1 == rest.size()) return Invalid(text, "release after '-' is empty");
    evr.release = std::string(rest.substr(dash + 1));
    evr.has_release = true;
    rest = rest.substr(0, dash);
  }
  if (rest.empty()) return Invalid(text, "version is empty");
  evr.version = std::string(rest);
  return evr;
}

int CompareRpmEvr(const RpmEvr& installed, const RpmEvr& wanted) {
  if (installed.epoch != wanted.epoch) return installed.epoch < wanted.epoch ? -1 : 1;
  if (int c = RpmVerCmp(installed.version, wanted.version); c != 0) return c;
  if (!wanted.has_release) return 0;
  return RpmVerCmp(installed.release, wanted.release);
}

}  // namespace steward

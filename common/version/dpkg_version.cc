#include "common/version/dpkg_version.h"

#include <climits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace steward {
namespace {

// The C locale's classes, as dpkg's c_isdigit/c_isalpha/c_isblank; the
// <cctype> versions depend on the locale and take only unsigned char values.
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Debian's Abseil is built with its own absl::string_view, not an alias of
// std::string_view, hence the explicit conversions.
absl::Status Invalid(std::string_view text, const char* reason) {
  return absl::InvalidArgumentError(
      absl::StrCat("version '", absl::CHexEscape(absl::string_view(text.data(), text.size())),
                   "' is invalid: ", reason));
}

// dpkg's order(): the weight of one character in a non-digit run. `c` is 0 at
// the end of the string. '~' is below the end of the string, letters are
// below everything else.
int Order(int c) {
  if (IsDigit(static_cast<char>(c))) return 0;
  if (IsAlpha(static_cast<char>(c))) return c;
  if (c == '~') return -1;
  if (c != 0) return c + 256;
  return 0;
}

// dpkg's verrevcmp() on string_views instead of NUL-terminated strings.
// Digit runs are never converted to integers, so any length is fine.
int VerRevCmp(std::string_view a, std::string_view b) {
  size_t i = 0;
  size_t j = 0;
  // Characters as unsigned values, 0 past the end (dpkg reads the NUL).
  auto ca = [&] { return i < a.size() ? static_cast<unsigned char>(a[i]) : 0; };
  auto cb = [&] { return j < b.size() ? static_cast<unsigned char>(b[j]) : 0; };
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !IsDigit(a[i])) || (j < b.size() && !IsDigit(b[j]))) {
      int ac = Order(ca());
      int bc = Order(cb());
      if (ac != bc) return ac - bc;
      if (i < a.size()) ++i;
      if (j < b.size()) ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    while (i < a.size() && IsDigit(a[i]) && j < b.size() && IsDigit(b[j])) {
      if (first_diff == 0) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    // The longer run of significant digits is the larger number.
    if (i < a.size() && IsDigit(a[i])) return 1;
    if (j < b.size() && IsDigit(b[j])) return -1;
    if (first_diff != 0) return first_diff;
  }
  return 0;
}

int Sign(int v) { return (v > 0) - (v < 0); }

}  // namespace

absl::StatusOr<DpkgVersion> ParseDpkgVersion(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  if (s.empty()) return Invalid(text, "version string is empty");
  for (char c : s) {
    if (IsBlank(c)) return Invalid(text, "version string has embedded spaces");
  }

  DpkgVersion v;
  size_t colon = s.find(':');
  if (colon != std::string_view::npos) {
    std::string_view epoch = s.substr(0, colon);
    if (epoch.empty()) return Invalid(text, "epoch in version is empty");
    uint64_t value = 0;
    for (char c : epoch) {
      if (!IsDigit(c)) return Invalid(text, "epoch in version is not number");
      value = value * 10 + static_cast<uint64_t>(c - '0');
      if (value > INT_MAX) return Invalid(text, "epoch in version is too big");
    }
    if (colon + 1 == s.size()) {
      return Invalid(text, "nothing after colon in version number");
    }
    v.epoch = value;
    s.remove_prefix(colon + 1);
  }

  size_t hyphen = s.rfind('-');
  if (hyphen != std::string_view::npos) {
    v.revision = std::string(s.substr(hyphen + 1));
    s = s.substr(0, hyphen);
    if (v.revision.empty()) return Invalid(text, "revision number is empty");
  }
  if (s.empty()) return Invalid(text, "version number is empty");
  // A non-digit first character is only a warning in dpkg; keep the version.
  for (char c : s) {
    if (!IsDigit(c) && !IsAlpha(c) && std::string_view(".-+~:").find(c) == std::string_view::npos) {
      return Invalid(text, "invalid character in version number");
    }
  }
  for (char c : v.revision) {
    if (!IsDigit(c) && !IsAlpha(c) && std::string_view(".+~").find(c) == std::string_view::npos) {
      return Invalid(text, "invalid character in revision number");
    }
  }
  v.upstream = std::string(s);
  return v;
}

int CompareDpkgVersions(const DpkgVersion& a, const DpkgVersion& b) {
  if (a.epoch != b.epoch) return a.epoch > b.epoch ? 1 : -1;
  int rc = VerRevCmp(a.upstream, b.upstream);
  if (rc != 0) return Sign(rc);
  return Sign(VerRevCmp(a.revision, b.revision));
}

int CompareDpkgVersionStrings(std::string_view a, std::string_view b) {
  absl::StatusOr<DpkgVersion> va = ParseDpkgVersion(a);
  absl::StatusOr<DpkgVersion> vb = ParseDpkgVersion(b);
  if (va.ok() && vb.ok()) return CompareDpkgVersions(*va, *vb);
  if (va.ok()) return -1;
  if (vb.ok()) return 1;
  return Sign(a.compare(b));
}

}  // namespace steward

#include "common/duration.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace steward {

absl::StatusOr<absl::Duration> ParseHumanDuration(absl::string_view text) {
  absl::string_view s = absl::StripAsciiWhitespace(text);
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid duration '", text, "': ", why,
                                                   " (examples: 30s, 15m, 1h, 7d)"));
  };
  if (s.empty()) return bad("empty");
  if (s[0] == '-') return bad("must not be negative");
  absl::Duration total = absl::ZeroDuration();
  // Peel leading "<int>d" parts off by hand; absl::ParseDuration does the rest.
  size_t d = s.find('d');
  if (d != absl::string_view::npos) {
    int64_t days = 0;
    if (!absl::SimpleAtoi(s.substr(0, d), &days) || days < 0 || days > 365 * 100) {
      return bad("day count must be a whole number");
    }
    total += absl::Hours(24 * days);
    s.remove_prefix(d + 1);
    if (s.empty()) return total;
  }
  absl::Duration rest;
  if (!absl::ParseDuration(s, &rest)) return bad("unknown number or unit");
  if (rest < absl::ZeroDuration()) return bad("must not be negative");
  if (rest == absl::InfiniteDuration()) return bad("must be finite");
  return total + rest;
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace steward

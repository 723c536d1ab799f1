#pragma once
// Human durations on command lines and in config files: "90s", "15m", "1h",
// "1h30m", "500ms", "7d". Also RFC 3339 formatting of times.

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace steward {

// Parses a positive-or-zero duration. Accepts absl's units (ns, us, ms, s,
// m, h) plus "d" for days, combined ("1d12h"). Errors name the input.
absl::StatusOr<absl::Duration> ParseHumanDuration(absl::string_view text);

// "2026-11-23T08:56:34Z" (UTC, second precision).
std::string FormatRfc3339(absl::Time t);

}  // namespace steward

#pragma once
// Job ids travel from the collector to agents, which use them as file
// names (STATE_DIR/jobs/<id>): both sides check them with this one rule.

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

namespace steward {

// 1-128 characters of [A-Za-z0-9._-], not starting with '.'.
inline bool IsValidJobId(absl::string_view id) {
  if (id.empty() || id.size() > 128 || id[0] == '.') return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// The form of a deployment's job ids: "d-", 8 hex digits, '-' and the rest
// ("d-1a2b3c4d-2", "d-1a2b3c4d-2-rb"). Only the rollout engine makes them.
inline bool IsDeploymentJobId(absl::string_view id) {
  if (id.size() < 12 || id.substr(0, 2) != "d-" || id[10] != '-') return false;
  const absl::string_view hex = id.substr(2, 8);
  return std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); });
}

inline constexpr char kJobIdRule[] = "1-128 characters of [A-Za-z0-9._-], not starting with '.'";

}  // namespace steward

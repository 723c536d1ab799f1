#pragma once
// Job ids travel from the collector to agents, which use them as file
// names (STATE_DIR/jobs/<id>): both sides check them with this one rule.

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

inline constexpr char kJobIdRule[] = "1-128 characters of [A-Za-z0-9._-], not starting with '.'";

}  // namespace steward

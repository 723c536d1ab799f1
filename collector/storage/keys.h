#pragma once
// Key encodings of the collector's column families (see store.h). Parts are
// separated by \0, which ids, names and label keys never contain (the agent
// service rejects input that does).

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "steward/v1/types.pb.h"

namespace steward::collector::keys {

inline constexpr char kSep = '\0';

// "agent id \0": the prefix of every per-agent key (inventory, series,
// health, change log), so one agent's keys never match another's.
std::string AgentPrefix(absl::string_view agent_id);
std::string InventoryKey(absl::string_view agent_id, const v1::SoftwareItem& item);
// agent id \0 time (BE8, sign-flipped) seq (BE8) index (BE4): time order per host.
std::string ChangeKey(absl::string_view agent_id, int64_t time_ms, uint64_t seq, uint32_t index);

// The smallest key greater than every key with `prefix`.
std::string PrefixEnd(std::string prefix);

// True if `s` contains a \0 (not allowed in any key part).
bool HasNul(absl::string_view s);

}  // namespace steward::collector::keys

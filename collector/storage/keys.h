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
// agent id \0 source \0 name \0: the InventoryKeys of one package (every
// arch and location) on one host.
std::string InventoryNamePrefix(absl::string_view agent_id, absl::string_view source, absl::string_view name);
// The package name folded to ASCII lower case (as name globs fold for pip
// and npm), \0, then InventoryKey: the index of inventory by name.
std::string InventoryNameKey(absl::string_view agent_id, const v1::SoftwareItem& item);
// The InventoryKey inside an InventoryNameKey (empty when it holds none).
absl::string_view InventoryKeyOfNameKey(absl::string_view name_key);
// The agent id an InventoryKey starts with.
absl::string_view AgentOfInventoryKey(absl::string_view inventory_key);
// agent id \0 time (BE8, sign-flipped) seq (BE8) index (BE4): time order per host.
std::string ChangeKey(absl::string_view agent_id, int64_t time_ms, uint64_t seq, uint32_t index);

// The smallest key greater than every key with `prefix`.
std::string PrefixEnd(std::string prefix);

// True if `s` contains a \0 (not allowed in any key part).
bool HasNul(absl::string_view s);

}  // namespace steward::collector::keys

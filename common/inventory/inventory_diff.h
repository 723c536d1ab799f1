#pragma once
// Inventory identity, digest and diff, shared by the agent (to build deltas)
// and the collector (to verify and apply them, and to keep the change log).
// An item's identity is (source, name, arch, location); the digest covers
// identity and version, so both sides agree on "the same inventory".

#include <string>
#include <vector>

#include "google/protobuf/repeated_field.h"
#include "steward/v1/types.pb.h"

namespace steward {

// "source\0name\0arch\0location": unique per item within one host.
std::string InventoryItemKey(const v1::SoftwareItem& item);

// Hex SHA-256 over the items sorted by key, each as
// "source\0name\0arch\0location\0version\n". Order-independent.
std::string InventoryDigest(const std::vector<v1::SoftwareItem>& items);
std::string InventoryDigest(const google::protobuf::RepeatedPtrField<v1::SoftwareItem>& items);

// What turns `before` into `after`. `changed` holds the new item for every
// key present in both whose fields differ (version or anything else).
struct InventoryDiff {
  std::vector<v1::SoftwareItem> added;
  std::vector<v1::SoftwareItem> removed;
  std::vector<v1::SoftwareItem> changed;
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};
InventoryDiff DiffInventories(const std::vector<v1::SoftwareItem>& before,
                              const std::vector<v1::SoftwareItem>& after);

// UPGRADED / DOWNGRADED / CHANGED for a version change of one item, using
// the ordering of its source (dpkg ordering for dpkg and, until they have
// their own, for the other sources).
v1::InventoryChange::Kind ClassifyVersionChange(const std::string& source, const std::string& old_version,
                                                const std::string& new_version);

// The change-log entries for a diff (version changes only among `changed`).
// `old_items` gives the previous version of changed/removed items by key.
std::vector<v1::InventoryChange> ChangesOf(const InventoryDiff& diff,
                                           const std::vector<v1::SoftwareItem>& before, int64_t time_ms);

// Lower-case name for "added", "removed", "upgraded", "downgraded", "changed",
// "rolled_back".
const char* ChangeKindName(v1::InventoryChange::Kind kind);

}  // namespace steward

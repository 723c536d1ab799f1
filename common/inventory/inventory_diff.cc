#include "common/inventory/inventory_diff.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/version/dpkg_version.h"
#include "google/protobuf/util/message_differencer.h"

namespace steward {
namespace {

const std::string kNul(1, '\0');

std::map<std::string, const v1::SoftwareItem*> ByKey(const std::vector<v1::SoftwareItem>& items) {
  std::map<std::string, const v1::SoftwareItem*> out;
  for (const auto& i : items) out[InventoryItemKey(i)] = &i;
  return out;
}

template <typename Items>
std::string DigestOf(const Items& items) {
  std::vector<std::pair<std::string, const v1::SoftwareItem*>> sorted;
  sorted.reserve(items.size());
  for (const auto& i : items) sorted.emplace_back(InventoryItemKey(i), &i);
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string text;
  for (const auto& [key, item] : sorted) absl::StrAppend(&text, key, kNul, item->version(), "\n");
  return Sha256Hex(text);
}

v1::InventoryChange MakeChange(const v1::SoftwareItem& item, v1::InventoryChange::Kind kind, int64_t time_ms) {
  v1::InventoryChange c;
  c.set_time_ms(time_ms);
  c.set_source(item.source());
  c.set_name(item.name());
  c.set_arch(item.arch());
  c.set_location(item.location());
  c.set_kind(kind);
  return c;
}

}  // namespace

std::string InventoryItemKey(const v1::SoftwareItem& item) {
  return absl::StrCat(item.source(), kNul, item.name(), kNul, item.arch(), kNul, item.location());
}

std::string InventoryDigest(const std::vector<v1::SoftwareItem>& items) { return DigestOf(items); }
std::string InventoryDigest(const google::protobuf::RepeatedPtrField<v1::SoftwareItem>& items) {
  return DigestOf(items);
}

InventoryDiff DiffInventories(const std::vector<v1::SoftwareItem>& before,
                              const std::vector<v1::SoftwareItem>& after) {
  auto old_items = ByKey(before);
  auto new_items = ByKey(after);
  InventoryDiff diff;
  for (const auto& [key, item] : new_items) {
    auto it = old_items.find(key);
    if (it == old_items.end()) {
      diff.added.push_back(*item);
    } else if (!google::protobuf::util::MessageDifferencer::Equals(*it->second, *item)) {
      diff.changed.push_back(*item);
    }
  }
  for (const auto& [key, item] : old_items) {
    if (!new_items.contains(key)) diff.removed.push_back(*item);
  }
  return diff;
}

v1::InventoryChange::Kind ClassifyVersionChange(const std::string& source, const std::string& old_version,
                                                const std::string& new_version) {
  int cmp = CompareDpkgVersionStrings(old_version, new_version);
  if (cmp < 0) return v1::InventoryChange::UPGRADED;
  if (cmp > 0) return v1::InventoryChange::DOWNGRADED;
  return v1::InventoryChange::CHANGED;
}

std::vector<v1::InventoryChange> ChangesOf(const InventoryDiff& diff, const std::vector<v1::SoftwareItem>& before,
                                           int64_t time_ms) {
  auto old_items = ByKey(before);
  std::vector<v1::InventoryChange> out;
  for (const auto& item : diff.added) {
    auto c = MakeChange(item, v1::InventoryChange::ADDED, time_ms);
    c.set_new_version(item.version());
    out.push_back(std::move(c));
  }
  for (const auto& item : diff.removed) {
    auto c = MakeChange(item, v1::InventoryChange::REMOVED, time_ms);
    auto it = old_items.find(InventoryItemKey(item));
    c.set_old_version(it != old_items.end() ? it->second->version() : item.version());
    out.push_back(std::move(c));
  }
  for (const auto& item : diff.changed) {
    auto it = old_items.find(InventoryItemKey(item));
    if (it == old_items.end() || it->second->version() == item.version()) continue;  // not a version change
    auto c = MakeChange(item, ClassifyVersionChange(item.source(), it->second->version(), item.version()), time_ms);
    c.set_old_version(it->second->version());
    c.set_new_version(item.version());
    out.push_back(std::move(c));
  }
  return out;
}

const char* ChangeKindName(v1::InventoryChange::Kind kind) {
  switch (kind) {
    case v1::InventoryChange::ADDED: return "added";
    case v1::InventoryChange::REMOVED: return "removed";
    case v1::InventoryChange::UPGRADED: return "upgraded";
    case v1::InventoryChange::DOWNGRADED: return "downgraded";
    case v1::InventoryChange::CHANGED: return "changed";
    case v1::InventoryChange::ROLLED_BACK: return "rolled_back";
    default: return "unknown";
  }
}

}  // namespace steward

#include "agent/session/inventory_reporter.h"

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/inventory/inventory_diff.h"
#include "common/log_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "spdlog/spdlog.h"

namespace steward::agent {

InventoryReporter::InventoryReporter(std::string base_path) : base_path_(std::move(base_path)) {}

void InventoryReporter::Load() {
  auto bytes = ReadFile(base_path_);
  if (!bytes.ok()) {
    if (!absl::IsNotFound(bytes.status())) spdlog::warn("inventory base: {}", bytes.status());
    return;
  }
  v1::InventorySnapshot base;
  if (!base.ParseFromString(*bytes) || base.digest() != InventoryDigest(base.items())) {
    spdlog::warn("inventory base {} is corrupt; the next report is a full snapshot", base_path_);
    return;
  }
  base_digest_ = base.digest();
  base_facts_ = base.facts();
  base_bytes_ = std::move(*bytes);
  have_base_ = true;
}

v1::InventorySnapshot InventoryReporter::ParseBase() const {
  v1::InventorySnapshot base;
  // Bytes this process serialized (or checked in Load): they parse.
  if (!base.ParseFromString(base_bytes_)) spdlog::error("inventory base in memory does not parse");
  return base;
}

std::optional<v1::Envelope> InventoryReporter::Report(std::vector<v1::SoftwareItem> items,
                                                      const v1::HostFacts& facts, bool force_snapshot,
                                                      size_t skipped_records) {
  v1::InventorySnapshot now;
  *now.mutable_facts() = facts;
  for (auto& i : items) *now.add_items() = std::move(i);
  now.set_digest(InventoryDigest(now.items()));
  now.set_skipped_records(static_cast<uint32_t>(skipped_records));

  v1::Envelope env;
  if (!have_base_ || force_snapshot) {
    *env.mutable_inventory_snapshot() = now;
  } else {
    InventoryDiff diff;
    {
      v1::InventorySnapshot base = ParseBase();
      std::vector<v1::SoftwareItem> before(std::make_move_iterator(base.mutable_items()->begin()),
                                           std::make_move_iterator(base.mutable_items()->end()));
      std::vector<v1::SoftwareItem> after(now.items().begin(), now.items().end());
      diff = DiffInventories(before, after);
    }
    bool facts_changed = !google::protobuf::util::MessageDifferencer::Equals(base_facts_, facts);
    if (diff.empty() && !facts_changed) return std::nullopt;
    auto* d = env.mutable_inventory_delta();
    d->set_base_digest(base_digest_);
    d->set_digest(now.digest());
    for (auto& i : diff.added) *d->add_added() = std::move(i);
    for (auto& i : diff.removed) *d->add_removed() = std::move(i);
    for (auto& i : diff.changed) *d->add_changed() = std::move(i);
    if (facts_changed) *d->mutable_facts() = facts;
    spdlog::info("inventory changed: {} added, {} removed, {} changed{}", d->added_size(), d->removed_size(),
                 d->changed_size(), facts_changed ? ", host facts changed" : "");
  }
  pending_ = std::move(now);
  has_pending_ = true;
  return env;
}

std::optional<v1::Envelope> InventoryReporter::ReportFacts(const v1::HostFacts& facts) {
  if (!have_base_ || google::protobuf::util::MessageDifferencer::Equals(base_facts_, facts)) return std::nullopt;
  v1::Envelope env;
  auto* d = env.mutable_inventory_delta();
  d->set_base_digest(base_digest_);
  d->set_digest(base_digest_);
  *d->mutable_facts() = facts;
  pending_ = ParseBase();
  *pending_.mutable_facts() = facts;
  has_pending_ = true;
  spdlog::info("host facts changed");
  return env;
}

absl::Status InventoryReporter::Commit() {
  if (!has_pending_) return absl::OkStatus();
  base_bytes_ = pending_.SerializeAsString();
  base_digest_ = pending_.digest();
  base_facts_ = pending_.facts();
  pending_ = v1::InventorySnapshot();  // Clear() would keep the items' memory
  have_base_ = true;
  has_pending_ = false;
  return WriteFileAtomic(base_path_, base_bytes_, 0600);
}

}  // namespace steward::agent

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
  base_ = std::move(base);
  have_base_ = true;
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
    std::vector<v1::SoftwareItem> before(base_.items().begin(), base_.items().end());
    std::vector<v1::SoftwareItem> after(now.items().begin(), now.items().end());
    InventoryDiff diff = DiffInventories(before, after);
    bool facts_changed = !google::protobuf::util::MessageDifferencer::Equals(base_.facts(), facts);
    if (diff.empty() && !facts_changed) return std::nullopt;
    auto* d = env.mutable_inventory_delta();
    d->set_base_digest(base_.digest());
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
  if (!have_base_ || google::protobuf::util::MessageDifferencer::Equals(base_.facts(), facts)) return std::nullopt;
  v1::Envelope env;
  auto* d = env.mutable_inventory_delta();
  d->set_base_digest(base_.digest());
  d->set_digest(base_.digest());
  *d->mutable_facts() = facts;
  pending_ = base_;
  *pending_.mutable_facts() = facts;
  has_pending_ = true;
  spdlog::info("host facts changed");
  return env;
}

absl::Status InventoryReporter::Commit() {
  if (!has_pending_) return absl::OkStatus();
  base_ = std::move(pending_);
  have_base_ = true;
  has_pending_ = false;
  return WriteFileAtomic(base_path_, base_.SerializeAsString(), 0600);
}

}  // namespace steward::agent

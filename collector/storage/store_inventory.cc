// Store: inventory snapshots, deltas and the per-host change log.
#include <algorithm>
#include <map>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/storage/change_causes.h"
#include "collector/storage/keys.h"
#include "collector/storage/store.h"
#include "collector/storage/store_internal.h"
#include "common/inventory/inventory_diff.h"
#include "common/log_format.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {
using internal_store::FromRocks;
using internal_store::ParseRecord;

int64_t ChangeTime(const v1::Envelope& env) {
  return env.created_ms() > 0 ? env.created_ms() : absl::ToUnixMillis(absl::Now());
}

}  // namespace

ArtifactLookup Store::Artifacts() {
  return [this](const std::string& sha256) {
    absl::StatusOr<v1::Artifact> a = GetArtifact(sha256);
    return a.ok() ? *std::move(a) : v1::Artifact();
  };
}

absl::Status Store::AttributeToJobs(const std::string& agent_id, std::vector<v1::InventoryChange>* changes) {
  if (changes->empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<v1::Job> jobs, ListJobs(agent_id));
  AttributeChanges(jobs, Artifacts(), changes);
  return absl::OkStatus();
}

absl::Status Store::LogChanges(const std::string& agent_id, const v1::Envelope& env,
                               const std::vector<v1::InventoryChange>& changes, rocksdb::WriteBatch* batch) {
  uint32_t index = 0;
  for (const auto& c : changes) {
    RETURN_IF_ERROR(FromRocks(
        batch->Put(inventory_log_, keys::ChangeKey(agent_id, c.time_ms(), env.seq(), index++), c.SerializeAsString()),
        "batch"));
  }
  return absl::OkStatus();
}

absl::Status Store::PutItemInBatch(const std::string& agent_id, const v1::SoftwareItem& item,
                                   rocksdb::WriteBatch* batch) {
  RETURN_IF_ERROR(FromRocks(batch->Put(inventory_, keys::InventoryKey(agent_id, item), item.SerializeAsString()), "batch"));
  return FromRocks(batch->Put(inventory_names_, keys::InventoryNameKey(agent_id, item), ""), "batch");
}

absl::Status Store::DeleteItemInBatch(const std::string& agent_id, const v1::SoftwareItem& item,
                                      rocksdb::WriteBatch* batch) {
  RETURN_IF_ERROR(FromRocks(batch->Delete(inventory_, keys::InventoryKey(agent_id, item)), "batch"));
  return FromRocks(batch->Delete(inventory_names_, keys::InventoryNameKey(agent_id, item)), "batch");
}

absl::StatusOr<std::vector<Store::HostItem>> Store::FindSoftwareByName(absl::string_view folded_prefix) {
  // One snapshot for the index and the items: a write between the two
  // cannot show an index entry whose item is gone.
  const rocksdb::Snapshot* snap = db_->GetSnapshot();
  absl::Cleanup release = [&] { db_->ReleaseSnapshot(snap); };
  rocksdb::ReadOptions read;
  read.snapshot = snap;
  std::vector<std::string> keys;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, inventory_names_));
    for (it->Seek(rocksdb::Slice(folded_prefix.data(), folded_prefix.size())); it->Valid(); it->Next()) {
      absl::string_view key(it->key().data(), it->key().size());
      if (!absl::StartsWith(key, folded_prefix)) break;
      absl::string_view inventory_key = keys::InventoryKeyOfNameKey(key);
      if (!inventory_key.empty()) keys.emplace_back(inventory_key);
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the inventory index"));
  }
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<std::string> values(keys.size());
  std::vector<rocksdb::Status> got = db_->MultiGet(read, std::vector<rocksdb::ColumnFamilyHandle*>(keys.size(), inventory_),
                                                   slices, &values);
  std::vector<HostItem> out;
  out.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (got[i].IsNotFound()) continue;  // an index entry without its item: not shown
    RETURN_IF_ERROR(FromRocks(got[i], "cannot read an inventory item"));
    HostItem hi;
    hi.agent_id = std::string(keys::AgentOfInventoryKey(keys[i]));
    if (!hi.item.ParseFromString(values[i])) {
      return absl::DataLossError(absl::StrCat("inventory item of ", hi.agent_id, " does not parse"));
    }
    out.push_back(std::move(hi));
  }
  return out;
}

absl::Status Store::BuildInventoryNamesIndex() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), inventory_));
  rocksdb::WriteBatch batch;
  uint64_t items = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::SoftwareItem item;
    if (!item.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) continue;
    absl::string_view agent_id = keys::AgentOfInventoryKey(absl::string_view(it->key().data(), it->key().size()));
    RETURN_IF_ERROR(FromRocks(batch.Put(inventory_names_, keys::InventoryNameKey(agent_id, item), ""), "batch"));
    if (++items % 10000 == 0) {
      RETURN_IF_ERROR(FromRocks(db_->Write(internal_store::SyncWrite(), &batch), "cannot write the inventory index"));
      batch.Clear();
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the inventory"));
  RETURN_IF_ERROR(FromRocks(db_->Write(internal_store::SyncWrite(), &batch), "cannot write the inventory index"));
  if (items > 0) spdlog::info("indexed {} inventory items by name", items);
  return absl::OkStatus();
}

absl::StatusOr<ApplyOutcome> Store::ApplySnapshot(const std::string& agent_id, const v1::Envelope& env,
                                                  internal::AgentRecord* rec, rocksdb::WriteBatch* batch) {
  const auto& snap = env.inventory_snapshot();
  ASSIGN_OR_RETURN(std::vector<v1::SoftwareItem> before, ListSoftware(agent_id));
  std::vector<v1::SoftwareItem> after(snap.items().begin(), snap.items().end());
  InventoryDiff diff = DiffInventories(before, after);
  // Write only what differs: a resync of 1,000 unchanged packages costs nothing.
  for (const auto& item : diff.removed) {
    RETURN_IF_ERROR(DeleteItemInBatch(agent_id, item, batch));
  }
  for (const auto* list : {&diff.added, &diff.changed}) {
    for (const auto& item : *list) {
      RETURN_IF_ERROR(PutItemInBatch(agent_id, item, batch));
    }
  }
  // The first snapshot of a host is its baseline, not a change.
  bool baseline = rec->inventory_digest().empty();
  if (!baseline) {
    std::vector<v1::InventoryChange> changes = ChangesOf(diff, before, ChangeTime(env));
    RETURN_IF_ERROR(AttributeToJobs(agent_id, &changes));
    RETURN_IF_ERROR(LogChanges(agent_id, env, changes, batch));
  }
  *rec->mutable_facts() = snap.facts();
  rec->set_inventory_digest(InventoryDigest(after));
  rec->set_software_count(static_cast<uint32_t>(after.size()));
  if (!snap.digest().empty() && snap.digest() != rec->inventory_digest()) {
    spdlog::warn("agent {}: snapshot digest {} does not match its items ({}); stored the items", agent_id,
                 snap.digest().substr(0, 12), rec->inventory_digest().substr(0, 12));
  }
  return ApplyOutcome::kApplied;
}

absl::StatusOr<ApplyOutcome> Store::ApplyDelta(const std::string& agent_id, const v1::Envelope& env,
                                               internal::AgentRecord* rec, rocksdb::WriteBatch* batch) {
  const auto& delta = env.inventory_delta();
  ASSIGN_OR_RETURN(std::vector<v1::SoftwareItem> before, ListSoftware(agent_id));
  std::string have = InventoryDigest(before);
  if (have != delta.base_digest()) {
    spdlog::info("agent {}: inventory delta {} is based on {}, collector has {}: asking for a resync", agent_id,
                 env.seq(), delta.base_digest().substr(0, 12), have.substr(0, 12));
    return ApplyOutcome::kResyncNeeded;
  }
  std::map<std::string, v1::SoftwareItem> items;
  for (auto& i : before) items[InventoryItemKey(i)] = std::move(i);
  std::vector<v1::SoftwareItem> old_items;
  for (const auto& [k, v] : items) old_items.push_back(v);
  InventoryDiff diff;
  for (const auto& r : delta.removed()) {
    auto it = items.find(InventoryItemKey(r));
    if (it == items.end()) return ApplyOutcome::kResyncNeeded;
    diff.removed.push_back(it->second);
    items.erase(it);
  }
  for (const auto& a : delta.added()) {
    if (!items.emplace(InventoryItemKey(a), a).second) return ApplyOutcome::kResyncNeeded;
    diff.added.push_back(a);
  }
  for (const auto& c : delta.changed()) {
    auto it = items.find(InventoryItemKey(c));
    if (it == items.end()) return ApplyOutcome::kResyncNeeded;
    it->second = c;
    diff.changed.push_back(c);
  }
  std::vector<v1::SoftwareItem> after;
  after.reserve(items.size());
  for (auto& [k, v] : items) after.push_back(std::move(v));
  std::string digest = InventoryDigest(after);
  if (digest != delta.digest()) {
    spdlog::info("agent {}: inventory after delta {} would be {}, agent says {}: asking for a resync", agent_id,
                 env.seq(), digest.substr(0, 12), delta.digest().substr(0, 12));
    return ApplyOutcome::kResyncNeeded;
  }
  for (const auto& item : diff.removed) {
    RETURN_IF_ERROR(DeleteItemInBatch(agent_id, item, batch));
  }
  for (const auto* list : {&diff.added, &diff.changed}) {
    for (const auto& item : *list) {
      RETURN_IF_ERROR(PutItemInBatch(agent_id, item, batch));
    }
  }
  std::vector<v1::InventoryChange> changes = ChangesOf(diff, old_items, ChangeTime(env));
  RETURN_IF_ERROR(AttributeToJobs(agent_id, &changes));
  RETURN_IF_ERROR(LogChanges(agent_id, env, changes, batch));
  if (delta.has_facts()) *rec->mutable_facts() = delta.facts();
  rec->set_inventory_digest(digest);
  rec->set_software_count(static_cast<uint32_t>(after.size()));
  return ApplyOutcome::kApplied;
}

absl::StatusOr<std::vector<v1::InventoryChange>> Store::ListChanges(const std::string& agent_id, int64_t since_ms,
                                                                   size_t limit, bool* truncated,
                                                                   v1::ChangeCause cause,
                                                                   const std::function<bool(const v1::InventoryChange&)>& keep) {
  std::vector<v1::InventoryChange> out;
  *truncated = false;
  std::string prefix = keys::AgentPrefix(agent_id);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), inventory_log_));
  for (it->Seek(keys::ChangeKey(agent_id, since_ms, 0, 0)); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    v1::InventoryChange c;
    RETURN_IF_ERROR(ParseRecord(it->value().ToString(), "inventory change", &c));
    out.push_back(std::move(c));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the change log"));
  ASSIGN_OR_RETURN(std::vector<v1::Job> jobs, ListJobs(agent_id));
  if (!jobs.empty()) {
    const ArtifactLookup artifacts = Artifacts();
    out = FoldRolledBack(out, jobs, artifacts);
    std::vector<v1::InventoryChange> unseen = UnseenRollbacks(out, jobs, artifacts, since_ms);
    if (!unseen.empty()) {
      out.insert(out.end(), std::make_move_iterator(unseen.begin()), std::make_move_iterator(unseen.end()));
      std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.time_ms() < b.time_ms(); });
    }
  }
  std::erase_if(out, [&](const v1::InventoryChange& c) { return !MatchesCause(c, cause) || (keep && !keep(c)); });
  if (out.size() > limit) {
    out.erase(out.begin(), out.end() - static_cast<long>(limit));
    *truncated = true;
  }
  return out;
}

}  // namespace steward::collector

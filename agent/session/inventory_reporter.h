#pragma once
// Turns inventory scans into what the collector needs: a full snapshot the
// first time (or when the collector asks for a resync), then only deltas
// against the last state queued for sending (the "base"), with digests so
// the collector can tell when its copy has drifted.
//
// The base is persisted in the state directory after each queued change, so
// a restarted agent still sends deltas. If the agent dies between queuing a
// change and persisting the base, the next delta has a stale base digest;
// the collector then asks for a resync and a snapshot repairs it.
// Not thread-safe (the collection thread owns it).

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "steward/v1/agent.pb.h"

namespace steward::agent {

class InventoryReporter {
 public:
  // `base_path`: where the base is kept (e.g. STATE_DIR/inventory.base).
  explicit InventoryReporter(std::string base_path);

  // Loads the persisted base; a missing file means "no base" (the next
  // report is a snapshot). A corrupt file is logged and ignored.
  void Load();

  // The payload to queue for `items`/`facts`, or nullopt when nothing
  // changed. `force_snapshot` yields a snapshot even when nothing changed.
  std::optional<v1::Envelope> Report(std::vector<v1::SoftwareItem> items, const v1::HostFacts& facts,
                                     bool force_snapshot, size_t skipped_records);

  // A facts-only delta when `facts` differ from the base's (items as in the
  // base); nullopt when they do not, or when there is no base yet.
  std::optional<v1::Envelope> ReportFacts(const v1::HostFacts& facts);

  // Makes the state of the last Report the base (call once it is queued).
  absl::Status Commit();

  const std::string& base_digest() const { return base_digest_; }

 private:
  // The base's items, parsed again only when a scan found a change.
  v1::InventorySnapshot ParseBase() const;

  std::string base_path_;
  bool have_base_ = false;
  // The base (items + facts + digest last queued), kept serialized: one
  // buffer of ~150 bytes an item instead of a message with a dozen heap
  // blocks an item, for what is read once per change.
  std::string base_bytes_;
  std::string base_digest_;
  v1::HostFacts base_facts_;
  v1::InventorySnapshot pending_;  // what Report produced, until Commit
  bool has_pending_ = false;
};

}  // namespace steward::agent

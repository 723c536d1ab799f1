#pragma once
// The agent's outbox: every envelope is appended to a durable on-disk log
// (common/outbox/outbox_log.h) before it is sent and leaves it only when the
// collector acks it. Bounded: when full, the oldest metric and health
// batches are dropped first (counted, persisted); inventory and service
// reports never are.
//
// Sequence numbers on the wire are record ids plus a persisted offset. The
// offset moves only when the collector reports having applied more than this
// agent ever numbered (its outbox was wiped or restored), so new envelopes
// are never mistaken for duplicates.
//
// Payloads stay on disk; memory holds only the log's small index.
// Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/outbox/outbox_log.h"
#include "steward/v1/agent.pb.h"

namespace steward::agent {

class Outbox {
 public:
  // Opens (creating) the outbox in `dir`, recovering what a crash left.
  static absl::StatusOr<std::unique_ptr<Outbox>> Open(const std::string& dir, const OutboxLogOptions& options);

  // Appends a payload durably; its seq is assigned when it is sent.
  absl::Status Push(const v1::Envelope& env);
  // A session started and the collector has applied up to `last_applied`:
  // drops what it has and rewinds so everything else is sent again.
  void OnWelcome(uint64_t last_applied);
  // Drops envelopes up to and including wire seq `seq`.
  void Ack(uint64_t seq);
  // The next unsent envelope (with its seq), waiting up to `timeout`;
  // nullopt on timeout, before the first OnWelcome, after Stop(), or when
  // WakeSender() was called (once per call).
  std::optional<v1::Envelope> NextToSend(absl::Duration timeout);
  // Makes a waiting (or the next) NextToSend return nullopt now: the
  // session ended and its sender must stop waiting for envelopes.
  void WakeSender();
  void Stop();

  uint64_t dropped_batches() const { return log_->dropped_records(); }
  size_t pending() const { return log_->live_records(); }
  size_t pending_bytes() const { return log_->live_bytes(); }
  uint64_t last_acked() const;
  // Digest of the newest inventory state the collector has acked (empty if
  // unknown): what the collector should hold.
  std::string acked_inventory_digest() const;

 private:
  Outbox(std::unique_ptr<OutboxLog> log, std::string offset_path, uint64_t offset);
  void NoteAckedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<OutboxLog> log_;
  const std::string offset_path_;
  mutable absl::Mutex mu_;
  uint64_t seq_offset_ ABSL_GUARDED_BY(mu_);
  uint64_t cursor_id_ ABSL_GUARDED_BY(mu_) = 0;  // last record id sent in this session
  bool in_session_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t pushes_ ABSL_GUARDED_BY(mu_) = 0;  // wakes NextToSend
  bool wake_sender_ ABSL_GUARDED_BY(mu_) = false;
  // Pending inventory records: id -> digest of the state they lead to.
  std::map<uint64_t, std::string> inventory_digests_ ABSL_GUARDED_BY(mu_);
  std::string acked_digest_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::agent

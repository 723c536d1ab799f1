#pragma once
// Envelopes waiting for the collector's ack, in sequence order. Bounded by
// bytes: when full, the oldest metric batches are dropped (and counted);
// inventory snapshots are never dropped. In memory for now: the durable
// on-disk outbox is its own piece of work (see docs/protocol.md).
//
// Sequence numbers: the agent cannot know the collector's last applied
// sequence before its first Welcome, so envelopes queued before it are
// renumbered then, starting after that sequence. Thread-safe.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "steward/v1/agent.pb.h"

namespace steward::agent {

class Outbox {
 public:
  explicit Outbox(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Queues a payload (its seq is assigned here).
  void Push(v1::Envelope env);
  // A session started and the collector has applied up to `last_applied`:
  // drops what it has, renumbers on the first Welcome of this process, and
  // marks everything left as unsent.
  void OnWelcome(uint64_t last_applied);
  // Drops envelopes up to and including `seq`.
  void Ack(uint64_t seq);
  // The next unsent envelope, waiting up to `timeout`; nullopt on timeout or
  // after Stop().
  std::optional<v1::Envelope> NextToSend(absl::Duration timeout);
  void Stop();

  uint64_t dropped_batches() const;
  size_t pending() const;
  uint64_t last_acked() const;
  // Digest of the newest inventory snapshot the collector has acked (empty
  // if none in this process): what the collector should hold.
  std::string acked_inventory_digest() const;

 private:
  void DropOldestMetricsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NoteAckedInventoryLocked(const v1::Envelope& env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_bytes_;
  mutable absl::Mutex mu_;
  std::deque<v1::Envelope> queue_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t sent_ ABSL_GUARDED_BY(mu_) = 0;  // queue_[0, sent_) are on the wire
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t last_acked_ ABSL_GUARDED_BY(mu_) = 0;
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  std::string acked_digest_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::agent

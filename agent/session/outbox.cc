#include "agent/session/outbox.h"

#include "common/log_format.h"
#include "spdlog/spdlog.h"

namespace steward::agent {

void Outbox::Push(v1::Envelope env) {
  absl::MutexLock lock(&mu_);
  env.set_seq(next_seq_++);
  bytes_ += env.ByteSizeLong();
  queue_.push_back(std::move(env));
  if (bytes_ > max_bytes_) DropOldestMetricsLocked();
}

void Outbox::DropOldestMetricsLocked() {
  // Only unsent entries may go: a sent one may already be applied.
  for (size_t i = sent_; i < queue_.size() && bytes_ > max_bytes_;) {
    if (queue_[i].payload_case() == v1::Envelope::kMetricBatch) {
      bytes_ -= queue_[i].ByteSizeLong();
      queue_.erase(queue_.begin() + static_cast<long>(i));
      ++dropped_;
    } else {
      ++i;
    }
  }
  if (bytes_ > max_bytes_) {
    spdlog::warn("outbox holds {} bytes, over its {} byte bound, with nothing droppable", bytes_, max_bytes_);
  }
}

void Outbox::NoteAckedInventoryLocked(const v1::Envelope& env) {
  if (env.has_inventory_snapshot()) acked_digest_ = env.inventory_snapshot().digest();
  if (env.has_inventory_delta()) acked_digest_ = env.inventory_delta().digest();
}

void Outbox::OnWelcome(uint64_t last_applied) {
  absl::MutexLock lock(&mu_);
  if (!synced_) {
    synced_ = true;
    uint64_t seq = last_applied;
    for (auto& env : queue_) {
      // A larger seq can take more varint bytes: keep bytes_ exact.
      bytes_ -= env.ByteSizeLong();
      env.set_seq(++seq);
      bytes_ += env.ByteSizeLong();
    }
    next_seq_ = seq + 1;
  } else {
    while (!queue_.empty() && queue_.front().seq() <= last_applied) {
      NoteAckedInventoryLocked(queue_.front());
      bytes_ -= queue_.front().ByteSizeLong();
      queue_.pop_front();
    }
    if (next_seq_ <= last_applied) next_seq_ = last_applied + 1;
  }
  last_acked_ = last_applied;
  sent_ = 0;
}

void Outbox::Ack(uint64_t seq) {
  absl::MutexLock lock(&mu_);
  while (!queue_.empty() && queue_.front().seq() <= seq) {
    NoteAckedInventoryLocked(queue_.front());
    bytes_ -= queue_.front().ByteSizeLong();
    queue_.pop_front();
    if (sent_ > 0) --sent_;
  }
  if (seq > last_acked_) last_acked_ = seq;
}

std::optional<v1::Envelope> Outbox::NextToSend(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopped_ || (synced_ && sent_ < queue_.size());
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (stopped_ || !synced_ || sent_ >= queue_.size()) return std::nullopt;
  return queue_[sent_++];
}

void Outbox::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

uint64_t Outbox::dropped_batches() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

size_t Outbox::pending() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

std::string Outbox::acked_inventory_digest() const {
  absl::MutexLock lock(&mu_);
  return acked_digest_;
}

uint64_t Outbox::last_acked() const {
  absl::MutexLock lock(&mu_);
  return last_acked_;
}

}  // namespace steward::agent

#include "agent/session/outbox.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/log_format.h"
#include "common/status_macros.h"
#include "common/wire/agent_text.h"
#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {

OutboxRecordKind KindOf(const v1::Envelope& env) {
  switch (env.payload_case()) {
    case v1::Envelope::kInventorySnapshot:
    case v1::Envelope::kInventoryDelta:
      return OutboxRecordKind::kInventory;
    case v1::Envelope::kMetricBatch:
      return OutboxRecordKind::kMetrics;
    case v1::Envelope::kHealthReport:
      return OutboxRecordKind::kHealth;
    // A service report is sent only when the units changed, so dropping one
    // would leave the collector with a stale list until the next change:
    // like the inventory, it is never dropped (kOther is not droppable).
    case v1::Envelope::kServiceReport:
      return OutboxRecordKind::kOther;
    default:
      return OutboxRecordKind::kOther;
  }
}

std::string DigestAfter(const v1::Envelope& env) {
  if (env.has_inventory_snapshot()) return env.inventory_snapshot().digest();
  if (env.has_inventory_delta()) return env.inventory_delta().digest();
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<Outbox>> Outbox::Open(const std::string& dir, const OutboxLogOptions& options) {
  OutboxOpenReport report;
  ASSIGN_OR_RETURN(std::unique_ptr<OutboxLog> log, OutboxLog::Open(dir, options, &report));
  for (const auto& w : report.warnings) spdlog::warn("outbox: {}", w);
  if (report.torn_tail_bytes > 0 || report.corrupt_records > 0) {
    spdlog::warn("outbox: recovered {} records; discarded a torn tail of {} bytes and {} damaged records",
                 report.records_recovered, report.torn_tail_bytes, report.corrupt_records);
  }
  std::string offset_path = dir + ".seq_offset";  // beside the log: the log owns its directory
  uint64_t offset = 0;
  if (auto text = ReadFile(offset_path); text.ok()) {
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &offset)) {
      return absl::DataLossError(absl::StrCat(offset_path, " is corrupt ('", absl::StripAsciiWhitespace(*text),
                                              "'); remove it and the agent renumbers after the collector"));
    }
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  }
  std::unique_ptr<Outbox> box(new Outbox(std::move(log), std::move(offset_path), offset));
  // Rebuild the digests of pending inventory records (few, small to parse).
  absl::MutexLock lock(&box->mu_);
  for (const auto& meta : box->log_->Pending()) {
    if (meta.kind != OutboxRecordKind::kInventory) continue;
    auto bytes = box->log_->Read(meta.id);
    v1::Envelope env;
    if (bytes.ok() && env.ParseFromString(*bytes)) box->inventory_digests_[meta.id] = DigestAfter(env);
  }
  spdlog::info("outbox: {} pending envelopes ({} bytes), {} metric batches dropped for space so far",
               box->log_->live_records(), box->log_->live_bytes(), box->log_->dropped_records());
  return box;
}

Outbox::Outbox(std::unique_ptr<OutboxLog> log, std::string offset_path, uint64_t offset)
    : log_(std::move(log)), offset_path_(std::move(offset_path)), seq_offset_(offset) {}

absl::Status Outbox::Push(const v1::Envelope& env) {
  v1::Envelope stored = env;
  stored.clear_seq();
  // Text from the host (a Latin-1 pip Author:, a terminal escape in a unit
  // description) is made printable UTF-8 and cut to the collector's limits
  // here: otherwise the record would not parse when read back, or the
  // collector would refuse the whole envelope.
  if (size_t fixed = SanitizeAgentText(&stored); fixed > 0) {
    spdlog::warn("outbox: {} text fields of a {} were not printable UTF-8 or over their limits: invalid bytes and "
                 "control characters replaced with U+FFFD, long text cut",
                 fixed, stored.GetDescriptor()->FindFieldByNumber(stored.payload_case()) != nullptr
                            ? stored.GetDescriptor()->FindFieldByNumber(stored.payload_case())->name()
                            : std::string("envelope"));
  }
  ASSIGN_OR_RETURN(uint64_t id, log_->Append(KindOf(env), stored.SerializeAsString()));
  absl::MutexLock lock(&mu_);
  if (KindOf(env) == OutboxRecordKind::kInventory) inventory_digests_[id] = DigestAfter(env);
  ++pushes_;
  return absl::OkStatus();
}

void Outbox::OnWelcome(uint64_t last_applied) {
  absl::MutexLock lock(&mu_);
  uint64_t last_id = log_->next_id() - 1;
  if (last_applied > last_id + seq_offset_) {
    // The collector has applied more than this agent ever numbered: number
    // what is pending right after it.
    seq_offset_ = last_applied - log_->acked_up_to();
    if (auto s = WriteFileAtomic(offset_path_, absl::StrCat(seq_offset_, "\n"), 0600); !s.ok()) {
      spdlog::error("outbox: cannot persist the sequence offset: {}", s);
    }
    spdlog::warn("collector has applied up to seq {}, beyond this agent's {}: renumbering after it", last_applied,
                 last_id);
  } else if (last_applied > seq_offset_) {
    if (auto s = log_->AckUpTo(last_applied - seq_offset_); !s.ok()) spdlog::error("outbox: {}", s);
  }
  NoteAckedLocked();
  cursor_id_ = log_->acked_up_to();
  in_session_ = true;
  wake_sender_ = false;  // meant for the previous session's sender
}

void Outbox::Ack(uint64_t seq) {
  absl::MutexLock lock(&mu_);
  if (seq <= seq_offset_) return;
  uint64_t id = std::min(seq - seq_offset_, log_->next_id() - 1);
  if (auto s = log_->AckUpTo(id); !s.ok()) spdlog::error("outbox: {}", s);
  NoteAckedLocked();
}

void Outbox::NoteAckedLocked() {
  uint64_t acked = log_->acked_up_to();
  while (!inventory_digests_.empty() && inventory_digests_.begin()->first <= acked) {
    acked_digest_ = inventory_digests_.begin()->second;
    inventory_digests_.erase(inventory_digests_.begin());
  }
}

std::optional<v1::Envelope> Outbox::NextToSend(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (true) {
    if (stopped_) return std::nullopt;
    if (wake_sender_) {
      wake_sender_ = false;
      return std::nullopt;
    }
    if (in_session_) {
      std::optional<OutboxRecordMeta> next = log_->NextAfter(cursor_id_);
      if (next) {
        cursor_id_ = next->id;
        auto bytes = log_->Read(next->id);
        v1::Envelope env;
        if (!bytes.ok()) {
          // Dropped for space meanwhile (NotFound), or unreadable: skip it.
          if (!absl::IsNotFound(bytes.status())) spdlog::error("outbox: {}", bytes.status());
          continue;
        }
        if (!env.ParseFromString(*bytes)) {
          // Never silent: this is data the collector will not get.
          spdlog::error("outbox: record {} ({} bytes) does not parse and is skipped: damaged on disk, or written "
                        "by an agent that did not sanitize its text",
                        next->id, bytes->size());
          continue;
        }
        env.set_seq(next->id + seq_offset_);
        return env;
      }
    }
    uint64_t seen = pushes_;
    auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopped_ || wake_sender_ || pushes_ != seen;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&changed), deadline)) return std::nullopt;
  }
}

void Outbox::WakeSender() {
  absl::MutexLock lock(&mu_);
  wake_sender_ = true;
}

void Outbox::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

uint64_t Outbox::last_acked() const {
  absl::MutexLock lock(&mu_);
  return log_->acked_up_to() + seq_offset_;
}

std::string Outbox::acked_inventory_digest() const {
  absl::MutexLock lock(&mu_);
  return acked_digest_;
}

}  // namespace steward::agent

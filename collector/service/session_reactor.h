#pragma once
// One agent's Connect stream, read and written as raw bytes: each message
// is judged by its size against the limit for its kind before it is parsed
// (agent_message_decode.h), a message that does not parse ends the stream
// with INVALID_ARGUMENT, and unknown fields are discarded before anything
// is stored. Messages are applied one at a time, in order,
// on the WorkQueue (an envelope: its synced writes, then its ack), while the
// next message is read: two message buffers, so a stream holds at most two
// messages in memory and the network and parsing of one overlap the
// applying of the one before. Writes go through a small queue because the
// callback API allows one write at a time.
//
// Lifetime: gRPC owns the reactor until OnDone, which deletes it. Finish is
// called exactly once, never while a write is in flight nor while a message
// is being applied (a broken read during one waits for it to end).
//
// Close (from the registry: the session was replaced, or the agent disabled
// or removed) only records the status and hands the finishing to the
// WorkQueue (or, when that is full, to the next read or write completion),
// so it never ends the call under the caller's locks; from then on nothing
// read is applied.
//
// An agent that stops reading (its flow-control window full, so writes
// stay in flight) cannot be finished, as Finish waits for the write: when
// more than limits.max_queued_messages (or _bytes) wait for it, the call is
// cancelled instead (its reads end, nothing more is queued) and it leaves
// the session registry; gRPC completes the stuck write, and OnDone comes,
// when the connection fails its keepalive.

#include <atomic>
#include <deque>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "collector/service/metrics_query.h"
#include "collector/service/peer_identity.h"
#include "collector/service/service_deps.h"
#include "common/metrics/series_columns.h"
#include "collector/service/session_registry.h"
#include "grpcpp/support/byte_buffer.h"
#include "steward/v1/agent.grpc.pb.h"

namespace steward::collector {

class SessionReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                             public SettingsSink {
 public:
  SessionReactor(ServiceDeps deps, AgentPeer peer, grpc::CallbackServerContext* ctx);

  void PushSettings(const v1::AgentSettings& settings) override;
  void PushJob(const v1::JobSpec& job) override;
  void PushCancel(const v1::CancelJob& cancel) override;
  void RequestHealthReport(const v1::HealthRequest& request) override;
  void Close(const absl::Status& status) override;

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;
  void OnCancel() override {}

 private:
  // Runs on the WorkQueue: applies the read messages in order, queues the
  // replies, and restarts reading when it frees a buffer.
  void Process();
  // Decodes one read message into msg_ and applies it.
  absl::Status Handle(grpc::ByteBuffer* raw);
  absl::Status HandleHello(const v1::Hello& hello);
  // `refused`: why the envelope is refused before it was parsed (over its
  // size limit: only its seq and created_ms are in `env`), or empty.
  absl::Status HandleEnvelope(const v1::Envelope& env, std::string refused);
  // Signs the agent's CSR for its own id, records the new serial and sends
  // the certificate (session_renewal.cc).
  absl::Status HandleRenew(const v1::RenewCertificate& renew);
  void Send(v1::CollectorMessage msg);
  // Appends the batch under the agent's series limits; `warning` says
  // what was refused.
  absl::Status AppendMetrics(std::string* warning);
  // Records that the stream ends with `status` (the first one wins); the
  // status to pass to Finish(), outside mu_, when that is now (no write in
  // flight; otherwise OnWriteDone finishes).
  std::optional<grpc::Status> FinishLocked(const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ServiceDeps deps_;
  const AgentPeer peer_;
  grpc::CallbackServerContext* const ctx_;
  const std::string& agent_id_ = peer_.agent_id;
  // The two message buffers: one being read into, or waiting in ready_, or
  // being applied.
  grpc::ByteBuffer in_[2];
  // The message being applied (reused: no allocation per message).
  v1::AgentMessage msg_;
  uint64_t messages_read_ = 0;
  bool got_hello_ = false;
  // Scratch of HandleEnvelope (one envelope at a time), reused so that a
  // metric batch costs no allocation per series.
  metrics::DecodedColumns columns_;
  IngestBatch ingest_;
  std::vector<uint64_t> ingested_ids_;
  std::atomic<bool> registered_{false};
  // Highest seq applied for this agent (from the Welcome on): an envelope
  // may not jump further ahead than limits.max_seq_jump.
  uint64_t applied_seq_ = 0;
  // This agent's series in the TSDB (counted at Hello, then kept up to
  // date), and the series it created in the current minute.
  size_t series_count_ = 0;
  size_t series_this_minute_ = 0;
  absl::Time minute_start_ = absl::InfinitePast();
  absl::Time last_limit_log_ = absl::InfinitePast();

  absl::Mutex mu_;
  int read_slot_ ABSL_GUARDED_BY(mu_) = 0;  // in_[read_slot_] is (or is next) read into
  std::deque<grpc::ByteBuffer*> ready_ ABSL_GUARDED_BY(mu_);  // read, not yet applied
  bool processing_ ABSL_GUARDED_BY(mu_) = false;  // Process() is queued or running
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;  // both buffers busy: no read out
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;  // the read side ended
  std::deque<grpc::ByteBuffer> out_ ABSL_GUARDED_BY(mu_);
  size_t out_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool cut_off_ ABSL_GUARDED_BY(mu_) = false;  // cancelled for not reading
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status finish_status_ ABSL_GUARDED_BY(mu_);
  // Close() was called: apply nothing more, finish with close_status_.
  bool close_requested_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status close_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::collector

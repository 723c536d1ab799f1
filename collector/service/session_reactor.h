#pragma once
// One agent's Connect stream. Reads lock-step: a message is read, handed to
// the WorkQueue, applied (one synced RocksDB batch per envelope), acked, and
// only then is the next one read, so envelopes of a stream are applied in
// order and the in-flight memory per stream is one message. Writes go
// through a small queue because the callback API allows one write at a time.
//
// Lifetime: gRPC owns the reactor until OnDone, which deletes it. Finish is
// called exactly once, and never while a write is in flight.

#include <atomic>
#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "collector/service/metrics_query.h"
#include "collector/service/service_deps.h"
#include "common/metrics/series_columns.h"
#include "collector/service/session_registry.h"
#include "steward/v1/agent.grpc.pb.h"

namespace steward::collector {

class SessionReactor final : public grpc::ServerBidiReactor<v1::AgentMessage, v1::CollectorMessage>,
                             public SettingsSink {
 public:
  SessionReactor(ServiceDeps deps, std::string agent_id);

  void PushSettings(const v1::AgentSettings& settings) override;

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;
  void OnCancel() override {}

 private:
  // Runs on the WorkQueue: handles `in_`, queues replies, then reads again.
  void Process();
  absl::Status HandleHello(const v1::Hello& hello);
  absl::Status HandleEnvelope(const v1::Envelope& env);
  void Send(v1::CollectorMessage msg);
  void FinishOnce(const absl::Status& status);

  ServiceDeps deps_;
  const std::string agent_id_;
  v1::AgentMessage in_;  // only touched between OnReadDone and the next StartRead
  bool got_hello_ = false;
  // Scratch of HandleEnvelope (one envelope at a time), reused so that a
  // metric batch costs no allocation per series.
  metrics::DecodedColumns columns_;
  IngestBatch ingest_;
  std::vector<uint64_t> ingested_ids_;
  std::atomic<bool> registered_{false};

  absl::Mutex mu_;
  std::deque<v1::CollectorMessage> out_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status finish_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::collector

#pragma once
// The running agent: a collection thread (metrics every interval, inventory
// when the package database changes or the collector asks for a resync,
// systemd units when they change, application checks every interval and
// between intervals when the collector asks for a health report; see
// agent/health/health_schedule.h)
// feeding the Outbox, and a session thread that keeps one Connect stream to
// the collector, reconnecting with exponential backoff and jitter.
// Run() blocks until Stop(), which may be called from any thread.
//
// Identity: when a third of the certificate's lifetime is left, the session
// sends a RenewCertificate (CSR for a new key) and, on the answer, stores
// the new key and certificate (StoreIdentity) and reconnects with them at
// once. An agent whose certificate expired (offline too long) re-enrolls
// with its configured token before connecting; without one it logs what an
// operator can do, every attempt.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/health/health_runner.h"
#include "agent/health/health_schedule.h"
#include "agent/inventory/inventory_scanner.h"
#include "agent/metrics/host_metrics.h"
#include "agent/services/service_inventory.h"
#include "agent/session/agent_config.h"
#include "agent/session/backoff.h"
#include "agent/session/identity.h"
#include "agent/session/inventory_reporter.h"
#include "agent/session/outbox.h"
#include "grpcpp/client_context.h"
#include "steward/v1/agent.grpc.pb.h"

namespace steward::agent {

class AgentRunner {
 public:
  AgentRunner(AgentConfig config, std::string ca_pem, AgentIdentity identity, std::unique_ptr<Outbox> outbox);
  ~AgentRunner();

  void Run();
  void Stop();
  // Where jobs from the collector go (null: they are logged and ignored).
  // Set before Run().
  void SetJobSink(std::function<void(const v1::JobSpec&)> sink) { job_sink_ = std::move(sink); }
  // Where the collector's cancels of withdrawn jobs go (the JobRunner).
  void SetCancelSink(std::function<void(const v1::CancelJob&)> sink) { cancel_sink_ = std::move(sink); }
  // Called (on the session thread) with every new identity: a renewed
  // certificate or a re-enrollment. Set before Run().
  void SetIdentityListener(std::function<void(const AgentIdentity&)> fn) { identity_listener_ = std::move(fn); }
  // The identity in use now. Thread-safe.
  AgentIdentity identity() const;
  // Liveness for a watchdog (the service manager's, common/systemd): `pet`
  // is called on the collection thread at every cycle and between cycles at
  // least every `every`, so a hung collection thread stops the calls. Set
  // before Run(); `every` above zero.
  void SetWatchdog(absl::Duration every, std::function<void()> pet) {
    watchdog_every_ = every;
    watchdog_ = std::move(pet);
    next_watchdog_ = absl::InfinitePast();  // due at once
  }
  // Called on the session thread with one line on the connection
  // ("connected to ...", "reconnecting in ...: why"), for `systemctl status`.
  // Set before Run().
  void SetStatusListener(std::function<void(const std::string&)> fn) { status_listener_ = std::move(fn); }
  // Called on the session thread at the first ack of each session: this
  // agent reports (the self-update's proof of life). Set before Run().
  void SetDeliveryListener(std::function<void()> fn) { delivery_listener_ = std::move(fn); }

 private:
  void CollectLoop();
  void SessionLoop();
  // One stream from Hello to its end; returns why it ended.
  absl::Status RunSession();
  void CollectInventory(bool force);
  void CollectMetrics();
  // Queues a service report when the units changed (or a session started).
  void CollectServices();
  // Runs the application checks; returns their metrics and queues a health
  // report when a state changed, when `force` (the collector asked), or
  // every kHealthRefreshCycles-th collection cycle (`in_cycle`), to refresh "checked".
  std::vector<MetricSample> RunChecks(bool in_cycle, bool force);
  // Sleeps up to `d`; returns false if Stop() was called meanwhile.
  bool SleepUnlessStopped(absl::Duration d);
  // Sleeps until `next` (the next cycle), running the checks meanwhile when
  // the health schedule says so; returns false if Stop() was called.
  bool WaitForNextCycle(absl::Time next);
  bool HealthRequestedOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls watchdog_ when it is due at `now`. Collection thread only.
  void PetWatchdogIfDue(absl::Time now);
  void ReportStatus(const std::string& line) const {
    if (status_listener_) status_listener_(line);
  }
  // Identity (agent_runner_identity.cc).
  // Enrolls again with the configured token; `why` goes to the logs.
  absl::Status Reenroll(const std::string& why);
  // Asks for a new certificate on `stream` when one is due.
  void MaybeRequestRenewal(grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>* stream);
  // Stores and adopts a renewed certificate; true when the session should
  // end so the next one uses it.
  bool OnRenewed(const v1::RenewedCertificate& renewed);
  void Adopt(AgentIdentity identity);

  std::function<void(const v1::JobSpec&)> job_sink_;
  std::function<void(const v1::CancelJob&)> cancel_sink_;
  const AgentConfig config_;
  const std::string ca_pem_;
  // What Hello says this agent trusts (key ids of config_.trusted_keys);
  // unset when a key file did not load.
  std::optional<v1::TrustedKeys> trusted_keys_;
  std::function<void(const AgentIdentity&)> identity_listener_;
  std::function<void(const std::string&)> status_listener_;
  std::function<void()> delivery_listener_;
  std::function<void()> watchdog_;
  absl::Duration watchdog_every_ = absl::InfiniteDuration();
  // When watchdog_ is next due (never without one). Collection thread only.
  absl::Time next_watchdog_ = absl::InfiniteFuture();
  mutable absl::Mutex identity_mu_;
  AgentIdentity identity_ ABSL_GUARDED_BY(identity_mu_);
  // The key of the renewal asked for on the current session (empty: none).
  std::string renewal_key_ ABSL_GUARDED_BY(identity_mu_);
  // No renewal request before this (one per session, then a pause when the
  // collector did not answer). Session thread only.
  absl::Time next_renewal_try_ = absl::InfinitePast();
  // Set by the reader on a renewed certificate: reconnect without backoff.
  std::atomic<bool> reconnect_now_{false};
  std::unique_ptr<Outbox> outbox_;
  HostMetricsSampler sampler_;  // collection thread only
  Backoff backoff_;

  std::atomic<bool> resync_requested_{false};
  // Envelopes the collector acked as refused (session thread counts).
  std::atomic<uint64_t> rejected_envelopes_{0};
  // Inventory state, touched by the collection thread only.
  std::unique_ptr<InventoryScanner> scanner_;  // collection thread only
  uint64_t cycles_ = 0;
  HealthRunner health_;  // collection thread only
  std::string last_health_;  // serialized states (sans times) of the last report
  uint64_t health_cycles_ = 0;
  uint64_t metric_batches_ = 0;  // collection thread only
  bool scanned_ = false;  // this cycle parsed package databases or facts; collection thread only
  absl::Time next_services_ = absl::InfinitePast();  // collection thread only

  // Checks pushed by the collector (session thread writes, collection thread applies).
  absl::Mutex pushed_mu_;
  std::optional<std::vector<v1::CheckSpec>> pushed_checks_ ABSL_GUARDED_BY(pushed_mu_);
  InventoryReporter inventory_;  // collection thread only
  // Null when services.enabled = false. Collection thread only.
  std::unique_ptr<ServiceInventory> services_;
  // Set by the session thread on each Welcome: resend the service report.
  std::atomic<bool> services_resend_{false};
  // Set by the session thread on each Welcome: connecting (enrollment, TLS
  // handshake, the first large send) ran code and filled buffers once; the
  // next cycle gives them back as after a scan.
  std::atomic<bool> connected_since_trim_{false};

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Checks asked for by the collector (the session thread records requests
  // and wakes the collection thread, which runs them).
  HealthSchedule health_schedule_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* current_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace steward::agent

#include "agent/session/agent_runner.h"

#include <malloc.h>

#include <algorithm>

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/facts/host_facts.h"
#include "agent/health/coredumps.h"
#include "agent/inventory/sources.h"
#include "agent/metrics/host_metrics.h"
#include "agent/parse_report.h"
#include "agent/session/reports.h"
#include "agent/session/resident_code.h"
#include "common/build_info/build_info.h"
#include "common/grpc/status_convert.h"
#include "common/health/report_interval.h"
#include "common/log_format.h"
#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {

void LogReport(const ParseReport& report, std::string_view what) {
  if (report.total_warnings() == 0) return;
  size_t shown = 0;
  for (const auto& w : report.warnings) {
    if (shown++ == 5) break;
    spdlog::warn("{}: {}", what, w);
  }
  if (report.total_warnings() > 5) {
    spdlog::warn("{}: {} more warnings not shown", what, report.total_warnings() - 5);
  }
}

// Where the checks look: the configured procfs and core dump store.
CheckEnv MakeCheckEnv(const AgentConfig& config) {
  CheckEnv env;
  env.proc_root = config.proc_root;
  env.coredumps = std::make_shared<CoredumpStore>(config.coredump_dir);
  return env;
}

}  // namespace

AgentRunner::AgentRunner(AgentConfig config, std::string ca_pem, AgentIdentity identity,
                         std::unique_ptr<Outbox> outbox)
    : config_(std::move(config)),
      ca_pem_(std::move(ca_pem)),
      identity_(std::move(identity)),
      outbox_(std::move(outbox)),
      sampler_(config_.proc_root),
      backoff_(absl::Seconds(1), absl::Minutes(5), std::random_device{}()),
      health_(MakeCheckEnv(config_)),
      inventory_(config_.state_dir + "/inventory.base") {
  // main() refused a key file that does not load; elsewhere (tests) such
  // an agent just does not say what it trusts.
  if (auto keys = TrustedKeysOf(config_.trusted_keys); keys.ok()) {
    trusted_keys_ = *std::move(keys);
  } else {
    spdlog::warn("the collector is not told which publisher keys this agent trusts: {}", keys.status().message());
  }
  if (config_.services_enabled) {
    services_ = std::make_unique<ServiceInventory>(
        HostServicesEnv(config_.services_systemctl, config_.proc_root));
  }
}

AgentRunner::~AgentRunner() { Stop(); }

void AgentRunner::Run() {
  inventory_.Load();
  InventoryOptions options;
  options.dpkg_status = config_.dpkg_status;
  scanner_ = std::make_unique<InventoryScanner>(MakeInventorySources(options));
  if (auto s = health_.SetChecks(config_.checks, {}); !s.ok()) spdlog::error("checks: {}", s);
  std::thread collector([this] { CollectLoop(); });
  SessionLoop();
  collector.join();
}

AgentIdentity AgentRunner::identity() const {
  absl::MutexLock lock(&identity_mu_);
  return identity_;
}

void AgentRunner::Stop() {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  stopping_ = true;
  outbox_->Stop();
  if (current_) current_->TryCancel();
}

bool AgentRunner::SleepUnlessStopped(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return !stopping_;
}

void AgentRunner::PetWatchdogIfDue(absl::Time now) {
  if (!watchdog_ || now < next_watchdog_) return;
  watchdog_();
  next_watchdog_ = now + watchdog_every_;
}

void AgentRunner::CollectLoop() {
  absl::Time next = absl::Now();
  do {
    PetWatchdogIfDue(absl::Now());
    CollectInventory(resync_requested_.exchange(false));
    CollectServices();
    CollectMetrics();
    // A scan reads and parses megabytes of package databases and then frees
    // them; give the freed pages back instead of keeping them in the arena,
    // and drop the mapped code only a scan or a new connection ran
    // (resident_code.h). Only then: trimming walks the heap, which an idle
    // cycle need not pay.
    if (connected_since_trim_.exchange(false) || scanned_) {
      ::malloc_trim(0);
      ReleasedCode code = ReleaseResidentCode();
      spdlog::debug("released {} read-only segments ({} kB), {} failed", code.segments, code.bytes / 1024,
                   code.failures);
    }
    scanned_ = false;
    next += config_.interval;
    absl::Time now = absl::Now();
    if (next < now) next = now;  // fell behind (suspend, slow disk): skip, don't burst
  } while (WaitForNextCycle(next));
}

bool AgentRunner::HealthRequestedOrStopping() const {
  return stopping_ || health_schedule_.NextRun() == absl::InfinitePast();
}

bool AgentRunner::WaitForNextCycle(absl::Time next) {
  while (true) {
    bool force = false;
    absl::Time now;
    HealthSchedule::Run run;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithDeadline(absl::Condition(this, &AgentRunner::HealthRequestedOrStopping),
                            std::min({next, health_schedule_.NextRun(), next_watchdog_}));
      if (stopping_) return false;
      now = absl::Now();
      if (now >= next) return true;  // the cycle runs the checks, and answers a request
      run = health_schedule_.Take(now);
    }
    PetWatchdogIfDue(now);
    if (run == HealthSchedule::Run::kNone) continue;
    force = run == HealthSchedule::Run::kRequested;
    // Only the report counts here; the cycle records the checks' metrics.
    RunChecks(/*in_cycle=*/false, force);
  }
}

void AgentRunner::CollectInventory(bool force) {
  // Host facts change rarely (kernel after a reboot, memory): look every 30 cycles.
  bool facts_due = force || cycles_++ % 30 == 0;
  ParseReport report;
  std::optional<std::vector<Package>> packages = scanner_->ScanIfChanged(force, &report);
  scanned_ = scanned_ || packages.has_value() || facts_due;
  LogReport(report, "inventory");
  if (packages) {
    for (const auto& st : scanner_->last_stats()) {
      if (!st.scanned) continue;
      if (!st.status.ok()) spdlog::warn("inventory source {}: {}", st.name, st.status);
      spdlog::debug("inventory source {}: {} items in {}", st.name, st.items, absl::FormatDuration(st.scan_time));
    }
  } else if (!facts_due) {
    return;  // nothing changed: the cheap fingerprint check is all this cycle costs
  }
  FactsPaths paths;
  paths.os_release = config_.os_release;
  paths.proc_root = config_.proc_root;
  ParseReport facts_report;
  HostFacts facts = CollectHostFacts(paths, &facts_report);
  LogReport(facts_report, "host facts");

  std::optional<v1::Envelope> env;
  if (packages) {
    v1::InventorySnapshot scan = BuildInventorySnapshot(*packages, facts, report.total_warnings());
    std::vector<v1::SoftwareItem> items(std::make_move_iterator(scan.mutable_items()->begin()),
                                        std::make_move_iterator(scan.mutable_items()->end()));
    env = inventory_.Report(std::move(items), scan.facts(), force, report.total_warnings());
  } else {
    env = inventory_.ReportFacts(FactsToProto(facts));
  }
  if (!env) return;
  if (env->has_inventory_snapshot()) {
    spdlog::info("inventory: {} items, digest {}", env->inventory_snapshot().items_size(),
                 env->inventory_snapshot().digest().substr(0, 12));
  }
  env->set_created_ms(absl::ToUnixMillis(absl::Now()));
  if (auto s = outbox_->Push(*env); !s.ok()) {
    // Not queued: keep the old base so the next scan reports this change again.
    spdlog::error("cannot queue the inventory report: {}", s);
    return;
  }
  if (auto s = inventory_.Commit(); !s.ok()) spdlog::warn("cannot persist the inventory base: {}", s);
}

void AgentRunner::CollectServices() {
  if (!services_) return;
  const bool force = services_resend_.exchange(false);
  const absl::Time now = absl::Now();
  if (!force && now < next_services_) return;
  next_services_ = now + config_.services_interval;
  ParseReport report;
  std::optional<v1::ServiceReport> services = services_->Collect(force, &report);
  LogReport(report, "services");
  if (!services) return;
  spdlog::info("services: {} units{}, digest {}", services->units_size(),
               services->systemd_present() ? "" : " (systemd is not running)", services->digest().substr(0, 12));
  v1::Envelope env;
  env.set_created_ms(absl::ToUnixMillis(absl::Now()));
  *env.mutable_service_report() = std::move(*services);
  if (auto s = outbox_->Push(env); !s.ok()) {
    // Not queued: no Commit, so the next cycle reports it again.
    spdlog::error("cannot queue the service report: {}", s);
    return;
  }
  services_->Commit();
}

void AgentRunner::CollectMetrics() {
  ParseReport report;
  auto samples = sampler_.Collect(&report);
  LogReport(report, "host metrics");
  if (!samples.ok()) {
    spdlog::warn("metrics: {}", samples.status().message());
    return;
  }
  bool force = false;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    force = health_schedule_.Take(now) == HealthSchedule::Run::kRequested;
    health_schedule_.RanInCycle(now);
  }
  std::vector<MetricSample> check_metrics = RunChecks(/*in_cycle=*/true, force);
  samples->insert(samples->end(), std::make_move_iterator(check_metrics.begin()),
                  std::make_move_iterator(check_metrics.end()));
  int64_t now_ms = absl::ToUnixMillis(absl::Now());
  // The agent's own delivery state travels with the host metrics.
  // Numbers the batches: at the collector, consecutive values prove that no
  // batch was lost or doubled (the counter restarts with the agent process).
  samples->push_back({"agent_metric_batches_total", {}, static_cast<double>(++metric_batches_), true});
  samples->push_back({"agent_envelopes_rejected_total", {}, static_cast<double>(rejected_envelopes_.load()), true});
  samples->push_back({"agent_outbox_dropped_batches_total", {}, static_cast<double>(outbox_->dropped_batches()), true});
  samples->push_back({"agent_outbox_pending_envelopes", {}, static_cast<double>(outbox_->pending()), false});
  samples->push_back({"agent_outbox_pending_bytes", {}, static_cast<double>(outbox_->pending_bytes()), false});
  v1::Envelope env;
  env.set_created_ms(now_ms);
  *env.mutable_metric_batch() = BuildMetricBatch(*samples, now_ms);
  if (auto s = outbox_->Push(env); !s.ok()) spdlog::error("cannot queue a metric batch: {}", s);
}

std::vector<MetricSample> AgentRunner::RunChecks(bool in_cycle, bool force) {
  std::optional<std::vector<v1::CheckSpec>> pushed;
  {
    absl::MutexLock lock(&pushed_mu_);
    pushed.swap(pushed_checks_);
  }
  if (pushed) {
    if (auto s = health_.SetChecks(config_.checks, std::move(*pushed)); !s.ok()) spdlog::error("checks: {}", s);
    for (const auto& e : health_.last_errors()) spdlog::warn("pushed check skipped: {}", e);
    spdlog::info("checks updated from the collector");
  }
  RunResult result = health_.RunAll(absl::Now());
  // Send when a state changed, when asked, and every kHealthRefreshCycles
  // cycles to refresh the times (the interval Hello announces).
  v1::HealthReport comparable = result.report;
  for (auto& c : *comparable.mutable_checks()) c.clear_time_ms();
  std::string key = comparable.SerializeAsString();
  const bool refresh = in_cycle && ++health_cycles_ % kHealthRefreshCycles == 0;
  if (key != last_health_ || force || refresh) {
    for (const auto& c : result.report.checks()) {
      if (c.status() != v1::CheckState::OK && key != last_health_) {
        spdlog::warn("check {} is {}: {}", c.name(), v1::CheckState::Status_Name(c.status()), c.reason());
      }
    }
    v1::Envelope env;
    env.set_created_ms(absl::ToUnixMillis(absl::Now()));
    *env.mutable_health_report() = std::move(result.report);
    if (auto s = outbox_->Push(env); !s.ok()) {
      spdlog::error("cannot queue the health report: {}", s);
    } else {
      last_health_ = std::move(key);
    }
  }
  return std::move(result.metrics);
}

void AgentRunner::SessionLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    absl::Status st;
    if (CertExpired(identity().cert_pem, absl::Now())) {
      // The collector would refuse it in the TLS handshake: enroll again.
      st = Reenroll("its certificate expired");
    }
    if (st.ok()) st = RunSession();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (reconnect_now_.exchange(false)) {
      next_renewal_try_ = absl::InfinitePast();  // the new certificate decides when
      spdlog::info("reconnecting to {} with the renewed certificate", config_.collector);
      continue;
    }
    if (absl::IsUnauthenticated(st) && absl::StrContains(st.message(), "certificate")) {
      // Replaced or expired by the collector's clock: only a token this
      // identity has not used yet can help (a renewal token an operator
      // wrote to the token file).
      auto token = CurrentEnrollToken(config_);
      if (token.ok() && !token->empty() && !EnrolledWithToken(config_.state_dir, *token)) {
        if (Reenroll("the collector refused its certificate").ok()) continue;
      }
    }
    absl::Duration wait =
        absl::IsResourceExhausted(st) ? backoff_.NextWithin(kBusyCollectorRetryCap) : backoff_.Next();
    if (absl::IsAborted(st) && absl::StrContains(st.message(), "replaced by a newer session")) {
      // Only another holder of this identity replaces a live session: a
      // second agent on this state directory, or a copy of its key
      // elsewhere. Do not fight it every second.
      spdlog::error("another connection with this agent's identity replaced this one: a second agent process on "
                    "{}, or a copy of its key on another host. An operator can cut both off with 'stewardctl hosts "
                    "disable {}' and then renew the real one",
                    config_.state_dir, identity().agent_id);
      wait = std::max(wait, absl::Minutes(1));
    }
    const std::string wait_text = absl::FormatDuration(absl::Trunc(wait, absl::Milliseconds(100)));
    spdlog::warn("session with {} ended: {}; reconnecting in {}", config_.collector, st.ToString(), wait_text);
    ReportStatus(absl::StrCat("reconnecting to ", config_.collector, " in ", wait_text, ": ", st.message()));
    if (!SleepUnlessStopped(wait)) return;
  }
}

absl::Status AgentRunner::RunSession() {
  grpc::ClientContext ctx;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    current_ = &ctx;
  }
  // A fresh channel per attempt: gRPC's own reconnect backoff (up to two
  // minutes) must not stretch the agent's jittered backoff after an outage.
  const AgentIdentity identity = this->identity();
  auto stub = v1::AgentService::NewStub(MakeCollectorChannel(config_.collector, ca_pem_, &identity));
  auto stream = stub->Connect(&ctx);

  v1::AgentMessage hello;
  hello.mutable_hello()->set_agent_version(steward::GetBuildInfo().version);
  hello.mutable_hello()->add_capabilities("inventory.snapshot");
  hello.mutable_hello()->add_capabilities("metrics.v1");
  hello.mutable_hello()->add_capabilities("services.v1");
  hello.mutable_hello()->set_last_acked_seq(outbox_->last_acked());
  hello.mutable_hello()->set_inventory_digest(outbox_->acked_inventory_digest());
  if (trusted_keys_.has_value()) *hello.mutable_hello()->mutable_trusted_keys() = *trusted_keys_;
  hello.mutable_hello()->set_health_report_interval_ms(
      absl::ToInt64Milliseconds(config_.interval * kHealthRefreshCycles));
  v1::CollectorMessage in;
  // A failed Read here means the collector ended the call (refused: its
  // status says why) or the connection broke.
  const bool answered = stream->Write(hello) && stream->Read(&in);
  const bool welcomed = answered && in.has_welcome();

  std::atomic<bool> reader_done{false};
  std::thread reader;
  if (welcomed) {
    outbox_->OnWelcome(in.welcome().last_applied_seq());
    services_resend_ = true;  // the collector may have lost its copy (restored data, new collector)
    connected_since_trim_ = true;
    backoff_.Reset();
    spdlog::info("connected to {} as agent {} (collector has applied up to seq {})", config_.collector,
                 in.welcome().agent_id(), in.welcome().last_applied_seq());
    ReportStatus(absl::StrCat("connected to ", config_.collector, " as agent ", in.welcome().agent_id()));
    reader = std::thread([&] {
      v1::CollectorMessage msg;
      bool delivered = false;
      while (stream->Read(&msg)) {
        if (msg.has_ack()) {
          if (!delivered && msg.ack().rejected().empty()) {
            delivered = true;
            if (delivery_listener_) delivery_listener_();
          }
          if (!msg.ack().rejected().empty()) {
            ++rejected_envelopes_;
            spdlog::error("the collector refused envelope {} and will never apply it: {} (dropped; is the "
                          "collector older than this agent?)",
                          msg.ack().seq(), msg.ack().rejected());
          }
          if (!msg.ack().warning().empty()) {
            spdlog::warn("the collector applied envelope {} in part: {}", msg.ack().seq(), msg.ack().warning());
          }
          outbox_->Ack(msg.ack().seq());
        } else if (msg.has_settings()) {
          absl::MutexLock lock(&pushed_mu_);
          pushed_checks_.emplace(msg.settings().checks().begin(), msg.settings().checks().end());
        } else if (msg.has_job()) {
          if (job_sink_) {
            job_sink_(msg.job());
          } else {
            spdlog::warn("job {} ignored: this agent runs no jobs", msg.job().job_id());
          }
        } else if (msg.has_cancel_job()) {
          if (cancel_sink_) cancel_sink_(msg.cancel_job());
        } else if (msg.has_health_request()) {
          const v1::HealthRequest& req = msg.health_request();
          spdlog::info("collector asks for a health report ({}); checks every second for {}", req.reason(),
                       absl::FormatDuration(absl::Milliseconds(req.watch_ms())));
          absl::MutexLock lock(&mu_);
          health_schedule_.Requested(absl::Now(), absl::Milliseconds(req.watch_ms()));
        } else if (msg.has_resync()) {
          spdlog::info("collector asks for an inventory resync: {}", msg.resync().reason());
          resync_requested_ = true;
        } else if (msg.has_renewed_certificate()) {
          // Reconnect with it, so the collector stops accepting the old one.
          if (OnRenewed(msg.renewed_certificate())) ctx.TryCancel();
        }
      }
      reader_done = true;
      outbox_->WakeSender();
    });
    {
      absl::MutexLock lock(&identity_mu_);
      renewal_key_.clear();
    }
    while (!reader_done) {
      MaybeRequestRenewal(stream.get());
      // Woken by a new envelope, the reader's end (WakeSender) or Stop(): no
      // polling, so an idle session costs no wakeups.
      auto env = outbox_->NextToSend(absl::InfiniteDuration());
      if (!env) {
        absl::MutexLock lock(&mu_);
        if (stopping_) break;
        continue;
      }
      v1::AgentMessage msg;
      *msg.mutable_envelope() = std::move(*env);
      if (!stream->Write(msg)) break;
    }
  }
  // When the collector ended the stream (the reader saw its end), Finish
  // returns the collector's status (why: disabled, replaced, ...); cancel
  // only a stream this side gives up.
  if (answered && !reader_done) ctx.TryCancel();
  if (reader.joinable()) reader.join();
  grpc::Status st = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    current_ = nullptr;
  }
  if (!st.ok()) return FromGrpcStatus(st);
  return welcomed ? absl::UnavailableError("stream closed by the collector")
                  : absl::UnavailableError("no Welcome from the collector");
}

}  // namespace steward::agent

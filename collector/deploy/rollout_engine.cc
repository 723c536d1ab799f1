#include "collector/deploy/rollout_engine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/artifacts/artifact_repository.h"
#include "collector/deploy/job_dispatch.h"
#include "collector/deploy/rollout_plan.h"
#include "collector/service/session_registry.h"
#include "collector/storage/store.h"
#include "collector/targeting/host_selection.h"
#include "collector/targeting/target_expr.h"
#include "common/crypto.h"
#include "common/jobs/job_spec.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {

constexpr int64_t kMaxGateMs = int64_t{24} * 3600 * 1000;

bool HostFinal(v1::DeploymentHostStatus s) {
  return s == v1::HOST_SUCCEEDED || s == v1::HOST_SKIPPED || s == v1::HOST_FAILED || s == v1::HOST_ROLLED_BACK;
}
bool HostFailed(v1::DeploymentHostStatus s) { return s == v1::HOST_FAILED || s == v1::HOST_ROLLED_BACK; }
bool JobFinal(v1::JobStatus s) {
  return s == v1::JOB_SUCCEEDED || s == v1::JOB_SKIPPED || s == v1::JOB_FAILED || s == v1::JOB_ROLLED_BACK;
}
bool RollbackPending(const v1::DeploymentHost& h) { return !h.rollback_job_id().empty() && !h.rollback_done(); }

std::string WaveName(uint32_t w) { return w == 0 ? "wave 1 (canary)" : absl::StrCat("wave ", w + 1); }

std::string Utc(absl::Time t) { return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone()); }

}  // namespace

absl::StatusOr<v1::Deployment> RolloutEngine::Create(const v1::DeploymentSpec& in, const std::string& by,
                                                     bool dry_run) {
  v1::DeploymentSpec spec = in;
  const absl::Time now = deps_.now();
  v1::Artifact artifact;
  if (spec.change_case() == v1::DeploymentSpec::kAptPackage) {
    // NAME=VERSION or NAME (the newest), from each host's repositories.
    const std::string& p = spec.apt_package();
    const size_t eq = p.find('=');
    artifact.set_name(p.substr(0, eq));
    artifact.set_version(eq == std::string::npos ? "" : p.substr(eq + 1));
    v1::JobSpec probe;
    probe.set_job_id("probe");
    probe.mutable_apt_package()->set_name(artifact.name());
    probe.mutable_apt_package()->set_version(artifact.version());
    if (absl::Status valid = ValidateJobSpec(probe); !valid.ok() || (eq != std::string::npos && artifact.version().empty())) {
      return absl::InvalidArgumentError(absl::StrCat("--package '", p.substr(0, 100),
                                                     "' must be NAME=VERSION or NAME (a Debian package name and version)"));
    }
  } else if (spec.change_case() == v1::DeploymentSpec::kArtifactSha256) {
    if (!IsSha256Hex(spec.artifact_sha256())) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", spec.artifact_sha256().substr(0, 80), "' is not a SHA-256 (64 lower-case hex digits)"));
    }
    if (deps_.artifacts == nullptr) return absl::UnavailableError("this collector keeps no artifacts");
    ASSIGN_OR_RETURN(artifact, deps_.artifacts->Get(spec.artifact_sha256()));
  } else {
    return absl::InvalidArgumentError("a deployment needs a change: --artifact SHA256 or --package NAME=VERSION");
  }
  if (spec.target().empty()) return absl::InvalidArgumentError("a deployment needs a target expression");
  absl::StatusOr<TargetExpr> target = TargetExpr::Parse(spec.target());
  if (!target.ok()) return absl::InvalidArgumentError(absl::StrCat("target: ", target.status().message()));
  ASSIGN_OR_RETURN(std::vector<WaveSize> waves, ParseWaves({spec.waves().begin(), spec.waves().end()}));
  RETURN_IF_ERROR(MaintenanceWindows::Parse(spec.window()).status());
  if (!(spec.error_threshold_pct() >= 0 && spec.error_threshold_pct() <= 100)) {
    return absl::InvalidArgumentError("the error threshold is a percentage from 0 to 100");
  }
  if (spec.health_gate_ms() < 0 || spec.health_gate_ms() > kMaxGateMs) {
    return absl::InvalidArgumentError("the health gate is from 0 to 24h");
  }
  if (spec.deadline_ms() != 0 && spec.deadline_ms() <= absl::ToUnixMillis(now)) {
    return absl::InvalidArgumentError("the deadline has passed already");
  }
  ASSIGN_OR_RETURN(std::vector<internal::AgentRecord> hosts, SelectHosts(*deps_.store, *target));
  if (hosts.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("the target '", spec.target(),
                                                      "' matches no host (check it with stewardctl hosts --where)"));
  }

  v1::Deployment d;
  d.set_id(absl::StrCat("d-", RandomHex(4)));
  // Stable shuffle: the canary is whichever host hashes first.
  std::vector<std::pair<std::string, const internal::AgentRecord*>> order;
  for (const auto& h : hosts) order.emplace_back(Sha256Hex(d.id() + h.agent_id()), &h);
  std::sort(order.begin(), order.end());
  const std::vector<uint32_t> plan = PlanWaves(static_cast<uint32_t>(order.size()), waves);
  size_t next = 0;
  for (uint32_t w = 0; w < plan.size(); ++w) {
    d.add_waves()->set_hosts(plan[w]);
    for (uint32_t i = 0; i < plan[w]; ++i, ++next) {
      v1::DeploymentHost* h = d.add_hosts();
      h->set_agent_id(order[next].second->agent_id());
      h->set_hostname(order[next].second->facts().hostname());
      h->set_wave(w);
      h->set_status(v1::HOST_PENDING);
    }
  }
  spec.clear_waves();
  for (const WaveSize& w : waves) {
    spec.add_waves(w.percent_form ? absl::StrCat(w.percent, "%") : absl::StrCat(w.count));
  }
  *d.mutable_spec() = spec;
  d.set_state(v1::DEPLOYMENT_PENDING);
  d.set_created_ms(absl::ToUnixMillis(now));
  d.set_updated_ms(d.created_ms());
  d.set_created_by(by);
  d.set_package(artifact.name());
  d.set_version(artifact.version());
  if (dry_run) return d;
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(deps_.store->PutDeployment(d));
  spdlog::info("deployment {} created by {}: {} {} to {} hosts in {} waves ({})", d.id(), by, d.package(),
               d.version(), d.hosts_size(), d.waves_size(), spec.target());
  return d;
}

absl::StatusOr<bool> RolloutEngine::ArtifactInUse(const std::string& sha256) {
  ASSIGN_OR_RETURN(std::vector<v1::Deployment> all, deps_.store->ListDeployments());
  for (const v1::Deployment& d : all) {
    if (!DeploymentFinished(d.state()) && d.spec().artifact_sha256() == sha256) return true;
  }
  return false;
}

std::vector<std::string> RolloutEngine::Unhealthy(const std::string& agent_id, std::vector<v1::CheckState>* states) {
  std::vector<std::string> out;
  absl::StatusOr<std::vector<v1::CheckState>> checks = deps_.store->ListHealth(agent_id);
  if (!checks.ok()) return out;
  for (const v1::CheckState& c : *checks) {
    if (c.status() != v1::CheckState::OK) {
      out.push_back(c.name());
      if (states != nullptr) states->push_back(c);
    }
  }
  return out;
}

void RolloutEngine::StartJob(v1::Deployment* d, v1::DeploymentHost* h) {
  const uint32_t attempt = h->attempt() + 1;
  v1::Job job;
  job.set_agent_id(h->agent_id());
  job.mutable_spec()->set_job_id(absl::StrCat(d->id(), "-", attempt));
  job.mutable_spec()->set_deployment_id(d->id());
  if (d->spec().change_case() == v1::DeploymentSpec::kAptPackage) {
    job.mutable_spec()->mutable_apt_package()->set_name(d->package());
    job.mutable_spec()->mutable_apt_package()->set_version(d->version());
  } else {
    job.mutable_spec()->mutable_install_artifact()->set_sha256(d->spec().artifact_sha256());
  }
  job.mutable_spec()->set_rollback_on_failure(true);
  job.set_created_ms(absl::ToUnixMillis(deps_.now()));
  job.set_created_by(d->created_by());
  absl::StatusOr<v1::Job> created = DispatchJob(*deps_.store, *deps_.sessions, job);
  // AlreadyExists: created before a restart that lost the step's record.
  if (!created.ok() && !absl::IsAlreadyExists(created.status())) {
    spdlog::error("deployment {}: cannot create the job for {}: {}", d->id(), h->agent_id(),
                  created.status().ToString());
    return;
  }
  h->set_attempt(attempt);
  h->set_job_id(job.spec().job_id());
  h->set_status(v1::HOST_RUNNING);
  h->set_started_ms(job.created_ms());
  h->clear_message();
  h->clear_unhealthy_before();
  for (std::string& name : Unhealthy(h->agent_id(), nullptr)) h->add_unhealthy_before(std::move(name));
  if (!deps_.sessions->IsConnected(h->agent_id())) h->set_message("waiting for the host to connect");
}

void RolloutEngine::StartRollback(v1::Deployment* d, v1::DeploymentHost* h, const std::string& why) {
  v1::Job job;
  job.set_agent_id(h->agent_id());
  job.mutable_spec()->set_job_id(absl::StrCat(h->job_id(), "-rb"));
  job.mutable_spec()->set_deployment_id(d->id());
  job.mutable_spec()->mutable_rollback()->set_of_job_id(h->job_id());
  job.set_created_ms(absl::ToUnixMillis(deps_.now()));
  job.set_created_by(d->created_by());
  absl::StatusOr<v1::Job> created = DispatchJob(*deps_.store, *deps_.sessions, job);
  if (!created.ok() && !absl::IsAlreadyExists(created.status())) {
    spdlog::error("deployment {}: cannot create the rollback job for {}: {}", d->id(), h->agent_id(),
                  created.status().ToString());
    return;
  }
  spdlog::warn("deployment {}: {} failed its health gate ({}); rolling it back", d->id(), h->agent_id(), why);
  h->set_status(v1::HOST_FAILED);
  h->set_message(absl::StrCat("health gate: ", why, "; rolling back"));
  h->set_rollback_job_id(job.spec().job_id());
  h->set_rollback_done(false);
}

void RolloutEngine::RefreshHosts(v1::Deployment* d) {
  const int64_t now = absl::ToUnixMillis(deps_.now());
  const int64_t deadline = d->spec().deadline_ms();
  for (v1::DeploymentHost& h : *d->mutable_hosts()) {
    if (h.status() == v1::HOST_RUNNING) {
      absl::StatusOr<v1::Job> job = deps_.store->GetJob(h.agent_id(), h.job_id());
      if (job.ok() && JobFinal(job->result().status())) {
        const v1::JobResult& r = job->result();
        switch (r.status()) {
          case v1::JOB_SUCCEEDED: h.set_status(v1::HOST_SUCCEEDED); break;
          case v1::JOB_SKIPPED: h.set_status(v1::HOST_SKIPPED); break;
          case v1::JOB_ROLLED_BACK: h.set_status(v1::HOST_ROLLED_BACK); break;
          default: h.set_status(v1::HOST_FAILED);
        }
        h.set_old_version(r.old_version());
        h.set_new_version(r.new_version());
        h.set_message(r.message());
        h.set_finished_ms(r.finished_ms() != 0 ? r.finished_ms() : now);
        if (HostFailed(h.status())) {
          spdlog::warn("deployment {}: {} {}: {}", d->id(), h.agent_id(), DeploymentHostStatusName(h.status()),
                       r.message());
        }
      } else if (job.ok() && deadline != 0 && now >= deadline) {
        v1::JobResult late = job->result();
        late.set_status(v1::JOB_FAILED);
        late.set_message("the deployment's deadline passed before the host reported (offline?)");
        late.set_finished_ms(now);
        absl::StatusOr<bool> marked = deps_.store->FinishJobIfPending(h.agent_id(), late);
        if (marked.ok() && *marked) {
          h.set_status(v1::HOST_FAILED);
          h.set_message(late.message());
          h.set_finished_ms(now);
        }
      } else if (job.ok() && h.message() == "waiting for the host to connect" &&
                 deps_.sessions->IsConnected(h.agent_id())) {
        h.clear_message();
      }
    } else if (h.status() == v1::HOST_PENDING && deadline != 0 && now >= deadline) {
      h.set_status(v1::HOST_FAILED);
      h.set_message("the deployment's deadline passed before the host's turn");
      h.set_finished_ms(now);
    }
    if (RollbackPending(h)) {
      absl::StatusOr<v1::Job> rb = deps_.store->GetJob(h.agent_id(), h.rollback_job_id());
      if (rb.ok() && JobFinal(rb->result().status())) {
        const v1::JobResult& r = rb->result();
        h.set_rollback_done(true);
        const std::string gate = h.message().substr(0, h.message().rfind("; rolling back"));
        if (r.status() == v1::JOB_ROLLED_BACK || r.status() == v1::JOB_SKIPPED) {
          h.set_status(v1::HOST_ROLLED_BACK);
          h.set_new_version(r.new_version());
          h.set_message(absl::StrCat(gate, "; rolled back to ",
                                     r.new_version().empty() ? "not installed" : r.new_version()));
        } else {
          h.set_message(absl::StrCat(gate, "; rollback failed: ", r.message()));
        }
        h.set_finished_ms(r.finished_ms() != 0 ? r.finished_ms() : now);
        spdlog::warn("deployment {}: {}: {}", d->id(), h.agent_id(), h.message());
      }
    }
  }
}

void RolloutEngine::StopPendingHosts(v1::Deployment* d, const std::string& why) {
  for (v1::DeploymentHost& h : *d->mutable_hosts()) {
    if (h.status() != v1::HOST_PENDING) continue;
    h.set_status(v1::HOST_SKIPPED);
    h.set_message(why);
  }
}

void RolloutEngine::WaveFailed(v1::Deployment* d, int failed, int total) {
  const uint32_t w = d->current_wave();
  std::string first;
  for (const v1::DeploymentHost& h : d->hosts()) {
    if (h.wave() == w && HostFailed(h.status())) {
      first = absl::StrCat(h.hostname().empty() ? h.agent_id() : h.hostname(), ": ", h.message());
      break;
    }
  }
  const std::string what = absl::StrCat(WaveName(w), ": ", failed, " of ", total, " hosts failed (threshold ",
                                        d->spec().error_threshold_pct(), "%); ", first);
  d->mutable_waves(static_cast<int>(w))->set_done_ms(absl::ToUnixMillis(deps_.now()));
  if (d->spec().on_failure() == v1::DeploymentSpec::ABORT) {
    StopPendingHosts(d, absl::StrCat("not started: ", WaveName(w), " failed"));
    bool any_changed = false, any_rolled_back = false;
    for (const v1::DeploymentHost& h : d->hosts()) {
      any_changed |= h.status() == v1::HOST_SUCCEEDED;
      any_rolled_back |= h.status() == v1::HOST_ROLLED_BACK;
    }
    d->set_state(!any_changed && any_rolled_back ? v1::DEPLOYMENT_ROLLED_BACK : v1::DEPLOYMENT_FAILED);
    d->set_message(what);
  } else {
    d->set_state(v1::DEPLOYMENT_PAUSED);
    d->set_paused_on_failure(true);
    d->set_message(absl::StrCat(what, " — paused: resume goes on with the next wave, retry runs the failed "
                                      "hosts again, abort stops"));
  }
  spdlog::warn("deployment {} {}: {}", d->id(), DeploymentStateName(d->state()), what);
}

void RolloutEngine::NextWave(v1::Deployment* d) {
  const int64_t now = absl::ToUnixMillis(deps_.now());
  const uint32_t w = d->current_wave();
  if (d->waves(static_cast<int>(w)).done_ms() == 0) d->mutable_waves(static_cast<int>(w))->set_done_ms(now);
  if (static_cast<int>(w) + 1 < d->waves_size()) {
    d->set_current_wave(w + 1);
    d->mutable_waves(static_cast<int>(w) + 1)->set_started_ms(now);
    d->clear_message();
    spdlog::info("deployment {}: {} done, {} starts", d->id(), WaveName(w), WaveName(w + 1));
    return;
  }
  int failed = 0;
  for (const v1::DeploymentHost& h : d->hosts()) failed += HostFailed(h.status()) ? 1 : 0;
  d->set_state(failed == 0 ? v1::DEPLOYMENT_SUCCEEDED : v1::DEPLOYMENT_FAILED);
  d->set_message(failed == 0 ? "" : absl::StrCat(failed, " hosts failed"));
  spdlog::info("deployment {} {}", d->id(), DeploymentStateName(d->state()));
}

absl::Status RolloutEngine::Advance(v1::Deployment* d) {
  RefreshHosts(d);
  if (DeploymentFinished(d->state()) || d->state() == v1::DEPLOYMENT_PAUSED) return absl::OkStatus();
  const absl::Time now = deps_.now();
  ASSIGN_OR_RETURN(MaintenanceWindows window, MaintenanceWindows::Parse(d->spec().window()));
  const bool open = window.Contains(now);
  if (d->state() == v1::DEPLOYMENT_PENDING) {
    if (!open) {
      d->set_message(absl::StrCat("waiting for the maintenance window (opens ", Utc(window.NextOpen(now)), ")"));
      return absl::OkStatus();
    }
    d->set_state(v1::DEPLOYMENT_RUNNING);
    d->mutable_waves(0)->set_started_ms(absl::ToUnixMillis(now));
    d->clear_message();
  }
  const uint32_t w = d->current_wave();
  int total = 0, failed = 0, running = 0, pending = 0, rolling_back = 0, in_flight = 0;
  for (const v1::DeploymentHost& h : d->hosts()) {
    in_flight += h.status() == v1::HOST_RUNNING ? 1 : 0;
    if (h.wave() != w) continue;
    ++total;
    failed += HostFailed(h.status()) ? 1 : 0;
    running += h.status() == v1::HOST_RUNNING ? 1 : 0;
    pending += h.status() == v1::HOST_PENDING ? 1 : 0;
    rolling_back += RollbackPending(h) ? 1 : 0;
  }
  const bool wave_failed = failed * 100.0 > d->spec().error_threshold_pct() * total;
  const bool before_deadline = d->spec().deadline_ms() == 0 || absl::ToUnixMillis(now) < d->spec().deadline_ms();
  if (!wave_failed && pending > 0) {
    if (open && before_deadline) {
      for (v1::DeploymentHost& h : *d->mutable_hosts()) {
        if (d->spec().max_parallel() != 0 && in_flight >= static_cast<int>(d->spec().max_parallel())) break;
        if (h.wave() != w || h.status() != v1::HOST_PENDING) continue;
        StartJob(d, &h);
        if (h.status() == v1::HOST_RUNNING) ++in_flight;
      }
      if (d->message().starts_with("waiting for the maintenance window")) d->clear_message();
    } else if (!open) {
      d->set_message(absl::StrCat("waiting for the maintenance window (opens ", Utc(window.NextOpen(now)), ")"));
    }
  }
  if (running > 0 || rolling_back > 0 || (!wave_failed && pending > 0)) return absl::OkStatus();
  if (wave_failed) {
    WaveFailed(d, failed, total);
    return absl::OkStatus();
  }
  // Health gate over the wave's changed hosts.
  if (d->spec().health_gate_ms() > 0) {
    v1::DeploymentWave* wave = d->mutable_waves(static_cast<int>(w));
    if (wave->gate_until_ms() == 0) {
      wave->set_gate_until_ms(absl::ToUnixMillis(now) + d->spec().health_gate_ms());
      d->set_message(absl::StrCat(WaveName(w), ": health gate until ",
                                  absl::FormatTime("%H:%M:%S UTC", absl::FromUnixMillis(wave->gate_until_ms()),
                                                   absl::UTCTimeZone())));
    }
    bool gate_failed = false;
    for (v1::DeploymentHost& h : *d->mutable_hosts()) {
      if (h.wave() != w || h.status() != v1::HOST_SUCCEEDED) continue;
      std::vector<v1::CheckState> states;
      Unhealthy(h.agent_id(), &states);
      for (const v1::CheckState& c : states) {
        const auto& before = h.unhealthy_before();
        if (std::find(before.begin(), before.end(), c.name()) != before.end()) continue;
        std::string status = absl::AsciiStrToLower(v1::CheckState::Status_Name(c.status()));
        StartRollback(d, &h,
                      absl::StrCat("check ", c.name(), " is ", status, c.reason().empty() ? "" : ": ", c.reason()));
        gate_failed = true;
        break;
      }
    }
    if (gate_failed || absl::ToUnixMillis(now) < wave->gate_until_ms()) return absl::OkStatus();
  }
  NextWave(d);
  return absl::OkStatus();
}

void RolloutEngine::Tick() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::vector<v1::Deployment>> all = deps_.store->ListDeployments();
  if (!all.ok()) {
    spdlog::error("rollouts: {}", all.status().ToString());
    return;
  }
  for (v1::Deployment& d : *all) {
    const bool hosts_busy = std::any_of(d.hosts().begin(), d.hosts().end(), [](const v1::DeploymentHost& h) {
      return h.status() == v1::HOST_RUNNING || RollbackPending(h);
    });
    if (DeploymentFinished(d.state()) && !hosts_busy) continue;
    const std::string before = d.SerializeAsString();
    if (absl::Status st = Advance(&d); !st.ok()) {
      spdlog::error("deployment {}: {}", d.id(), st.ToString());
      continue;
    }
    if (d.SerializeAsString() == before) continue;
    d.set_updated_ms(absl::ToUnixMillis(deps_.now()));
    if (absl::Status st = deps_.store->PutDeployment(d); !st.ok()) {
      spdlog::error("deployment {}: cannot store its progress: {}", d.id(), st.ToString());
    }
  }
}

absl::StatusOr<v1::Deployment> RolloutEngine::Control(const std::string& id,
                                                      v1::ControlDeploymentRequest::Action action,
                                                      const std::string& by) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(v1::Deployment d, deps_.store->GetDeployment(id));
  const std::string state = DeploymentStateName(d.state());
  const int64_t now = absl::ToUnixMillis(deps_.now());
  switch (action) {
    case v1::ControlDeploymentRequest::PAUSE:
      if (d.state() != v1::DEPLOYMENT_RUNNING && d.state() != v1::DEPLOYMENT_PENDING) {
        return absl::FailedPreconditionError(absl::StrCat("deployment ", id, " is ", state, "; only a pending or "
                                                          "running one can be paused"));
      }
      d.set_state(v1::DEPLOYMENT_PAUSED);
      d.set_paused_on_failure(false);
      d.set_message(absl::StrCat("paused by ", by.empty() ? "an admin" : by,
                                 "; jobs already started finish (resume to go on)"));
      break;
    case v1::ControlDeploymentRequest::RESUME:
      if (d.state() != v1::DEPLOYMENT_PAUSED) {
        return absl::FailedPreconditionError(absl::StrCat("deployment ", id, " is ", state, ", not paused"));
      }
      d.set_state(d.waves(0).started_ms() == 0 ? v1::DEPLOYMENT_PENDING : v1::DEPLOYMENT_RUNNING);
      d.clear_message();
      if (d.paused_on_failure()) {
        d.set_paused_on_failure(false);
        NextWave(&d);
      }
      break;
    case v1::ControlDeploymentRequest::ABORT: {
      if (DeploymentFinished(d.state())) {
        return absl::FailedPreconditionError(absl::StrCat("deployment ", id, " is ", state, " already"));
      }
      StopPendingHosts(&d, "not started: the deployment was aborted");
      // Jobs not yet delivered to offline hosts must not arrive later.
      for (v1::DeploymentHost& h : *d.mutable_hosts()) {
        if (h.status() != v1::HOST_RUNNING || deps_.sessions->IsConnected(h.agent_id())) continue;
        v1::JobResult cancelled;
        cancelled.set_job_id(h.job_id());
        cancelled.set_status(v1::JOB_FAILED);
        cancelled.set_exit_code(-1);
        cancelled.set_message("the deployment was aborted before the host ran the job");
        cancelled.set_finished_ms(now);
        absl::StatusOr<bool> marked = deps_.store->FinishJobIfPending(h.agent_id(), cancelled);
        if (marked.ok() && *marked) {
          h.set_status(v1::HOST_SKIPPED);
          h.set_message(cancelled.message());
        }
      }
      d.set_state(v1::DEPLOYMENT_ABORTED);
      d.set_message(absl::StrCat("aborted by ", by.empty() ? "an admin" : by));
      break;
    }
    case v1::ControlDeploymentRequest::RETRY: {
      if (d.state() == v1::DEPLOYMENT_ABORTED) {
        return absl::FailedPreconditionError(absl::StrCat("deployment ", id, " was aborted; create a new one"));
      }
      uint32_t first_wave = UINT32_MAX;
      for (v1::DeploymentHost& h : *d.mutable_hosts()) {
        if (!HostFailed(h.status()) || RollbackPending(h)) continue;
        h.set_status(v1::HOST_PENDING);
        h.clear_rollback_job_id();
        h.set_rollback_done(false);
        h.set_message(absl::StrCat("retry (attempt ", h.attempt() + 1, ")"));
        first_wave = std::min(first_wave, h.wave());
      }
      if (first_wave == UINT32_MAX) {
        return absl::FailedPreconditionError(
            absl::StrCat("deployment ", id, " has no failed or rolled-back host to retry"));
      }
      first_wave = std::min(first_wave, d.current_wave());
      d.set_current_wave(first_wave);
      for (int w = static_cast<int>(first_wave); w < d.waves_size(); ++w) {
        d.mutable_waves(w)->set_gate_until_ms(0);
        d.mutable_waves(w)->set_done_ms(0);
      }
      if (d.waves(static_cast<int>(first_wave)).started_ms() == 0) {
        d.mutable_waves(static_cast<int>(first_wave))->set_started_ms(now);
      }
      d.set_state(v1::DEPLOYMENT_RUNNING);
      d.set_paused_on_failure(false);
      d.clear_message();
      break;
    }
    default:
      return absl::InvalidArgumentError("action must be pause, resume, abort or retry");
  }
  d.set_updated_ms(now);
  RETURN_IF_ERROR(deps_.store->PutDeployment(d));
  spdlog::info("deployment {}: {} by {} -> {}", id, v1::ControlDeploymentRequest::Action_Name(action), by,
               DeploymentStateName(d.state()));
  return d;
}

RolloutScheduler::RolloutScheduler(RolloutEngine* engine, absl::Duration every) {
  thread_ = std::thread([this, engine, every] {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), every)) {
      mu_.Unlock();
      engine->Tick();
      mu_.Lock();
    }
  });
}

RolloutScheduler::~RolloutScheduler() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

}  // namespace steward::collector
